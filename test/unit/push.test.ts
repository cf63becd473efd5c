// skiff push's refusals that need no device: the destination, the options, the build it would send,
// and its checks against what a device reports (slot-info.sh's lines). The push itself, against the
// Orange Pi card in QEMU over SSH, is in test/integration/deploy.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDevice, slotFiles } from '../../deploy/push.ts';
import { parseDeviceInfo } from '../../deploy/device-info.ts';
import { parseDestination } from '../../deploy/ssh.ts';
import type { Manifest } from '../../images/manifest.ts';
import { sha256 } from '../support/card.ts';
import { refusal } from '../support/refusal.ts';
import { skiffHere } from '../support/in-process.ts';
import { tempDir } from '../support/tree.ts';

const SLOT = {
  'boot/slot-a/zImage': 'kernel',
  'boot/slot-a/initramfs.cpio.zst': 'initramfs',
  'boot/slot-a/dtbs/sun8i-h2-plus-orangepi-zero.dtb': 'dtb',
  'boot/boot.scr': 'script',
};

/** A build folder as compile writes one: the files and a manifest recording them. */
function build(files: Record<string, string>, over: Partial<Manifest> = {}): { dir: string; manifest: Manifest } {
  const dir = tempDir('skiff-push-');
  const outputs: Manifest['outputs'] = {};
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
    outputs[name] = { size: Buffer.byteLength(text), sha256: sha256(text) };
  }
  const manifest: Manifest = {
    skiff: '0.1.0',
    backend: 'debian',
    sourceDateEpoch: 0,
    chain: ['orangepi/common', 'orangepi/zero'],
    arch: 'armhf',
    family: 'orangepi',
    bootMethod: 'uboot-script',
    layers: [],
    kernel: { release: '6.1.0', source: 'linux-source-6.1', sourceVersion: '6.1', defconfig: 'sunxi_defconfig', configSha256: '', dropped: [] },
    packages: [],
    hostFiles: {},
    outputs,
    warnings: [],
    ...over,
  };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return { dir, manifest };
}

/** slot-info.sh's answer from an Orange Pi running slot a, with changes. */
function device(over: Record<string, string> = {}) {
  const fields = { version: '0.1.0', arch: 'armhf', family: 'orangepi', config: 'orangepi/common,orangepi/zero', boot_id: 'b1', ready: 'yes', slot: 'a', boot: '/dev/mmcblk0p1', good: 'a', trial: 'none', tries: '0', free_kib: '50000', slot_a_kib: '6000', ...over };
  return parseDeviceInfo(Object.entries(fields).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', 'root@opi');
}

describe('skiff push: the destination and options', () => {
  it('reads [user@]host, root by default, and refuses what ssh would take for an option', () => {
    expect(parseDestination('pi@10.0.0.2')).toEqual({ user: 'pi', host: '10.0.0.2' });
    expect(parseDestination('opi.local')).toEqual({ user: 'root', host: 'opi.local' });
    for (const bad of ['-oProxyCommand=sh', 'root@-oProxyCommand=sh', 'a b', 'root@', '@host', 'a@b@c']) {
      expect(refusal(() => parseDestination(bad)).message).toBe(`"${bad}" is not a device to push to`);
    }
    // host:port, as push's own messages name a device, is pointed at --port; IPv6 passes.
    expect(refusal(() => parseDestination('pi@10.0.0.2:2222')).fix).toBe('give the port with --port: `skiff push pi@10.0.0.2 --port 2222`');
    expect(parseDestination('root@fe80::1')).toEqual({ user: 'root', host: 'fe80::1' });
  });

  it('refuses bad options before reading any build or reaching any device', async () => {
    const cases: [string[], string][] = [
      [['push', 'root@h', '--tries', '10'], '--tries 10 is not a whole number from 1 to 9'],
      [['push', 'root@h', '--port', '0'], '--port 0 is not a whole number from 1 to 65535'],
      [['push', 'root@h', '--port', '22x'], '--port 22x is not a whole number from 1 to 65535'],
      [['push', 'root@h', '--wait', '60'], '--wait is for --reboot: without it nothing waits'],
      [['push', 'root@h', 'other'], 'skiff push: unexpected argument other'],
      [['push', 'root@opi:2222'], 'give the port with --port: `skiff push root@opi --port 2222`'],
    ];
    for (const [args, said] of cases) {
      const r = await skiffHere(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(said);
    }
  });
});

describe('skiff push: the build it sends', () => {
  it('takes the slot files with their sha256 from the manifest', () => {
    const { dir, manifest } = build(SLOT);
    expect(slotFiles(dir, manifest).map((f) => [f.name, f.sha256])).toEqual([
      ['zImage', sha256('kernel')],
      ['initramfs.cpio.zst', sha256('initramfs')],
      ['dtbs/sun8i-h2-plus-orangepi-zero.dtb', sha256('dtb')],
    ]);
  });

  it('refuses a build without slots, and a slot file changed since the build, before any device is reached', async () => {
    const single = build({ 'boot/zImage': 'kernel', 'boot/initramfs.cpio.zst': 'initramfs' });
    let r = await skiffHere(['push', 'root@192.0.2.1', '--image', single.dir], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(orangepi/common,orangepi/zero) has no boot slots');
    expect(r.stderr).toContain('BOOT_SLOTS=ab');
    const changed = build(SLOT);
    fs.appendFileSync(path.join(changed.dir, 'boot/slot-a/zImage'), 'x');
    r = await skiffHere(['push', 'root@192.0.2.1', '--image', changed.dir], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('boot/slot-a/zImage is not the file the build wrote (its sha256 differs from manifest.json): nothing was sent');
    r = await skiffHere(['push', 'root@192.0.2.1', '--image', tempDir()], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(no manifest.json)');
  });
});

describe("skiff push: checks against the device's report", () => {
  const { dir, manifest } = build(SLOT);
  const files = slotFiles(dir, manifest);

  it('writes the slot that is not the good one', () => {
    expect(checkDevice(manifest, files, device(), 'root@opi')).toBe('b');
    expect(checkDevice(manifest, files, device({ slot: 'b', good: 'b' }), 'root@opi')).toBe('a');
  });

  it('refuses a device that does not run its good slot: the slot a push writes would be the running one', () => {
    const e = refusal(() => checkDevice(manifest, files, device({ slot: 'b', good: 'a' }), 'root@opi'));
    expect(e.message).toBe('root@opi runs slot b, but its card names slot a as the good one (this boot did not confirm, or slot a could not be loaded): a push would overwrite the running image, so nothing was sent');
  });

  it('refuses another architecture or board family, naming both', () => {
    let e = refusal(() => checkDevice(manifest, files, device({ arch: 'arm64', config: 'pine64/rock64' }), 'root@opi'));
    expect(e.message).toBe('this build (orangepi/common,orangepi/zero) is for armhf, but root@opi runs arm64 (SKIFF_CONFIG=pine64/rock64): nothing was sent');
    e = refusal(() => checkDevice(manifest, files, device({ family: 'pi', config: 'pi/3' }), 'root@opi'));
    expect(e.message).toBe('this build (orangepi/common,orangepi/zero) is for the orangepi family, but root@opi is a pi board (SKIFF_CONFIG=pi/3): nothing was sent');
  });

  it('refuses a device still booting, a card with one slot, an image from before push, and a boot partition without room', () => {
    expect(refusal(() => checkDevice(manifest, files, device({ ready: 'no' }), 'root@opi')).message).toContain('has not finished booting');
    const single = parseDeviceInfo('version=0.1.0\narch=armhf\nfamily=orangepi\nconfig=orangepi/zero\nboot_id=x\nready=yes\nslot=none\nboot=/dev/mmcblk0p1\nfree_kib=9\n', 'root@opi');
    expect(refusal(() => checkDevice(manifest, files, single, 'root@opi')).message).toContain("card has one image slot");
    expect(refusal(() => checkDevice(manifest, files, device({ arch: '', family: '' }), 'root@opi')).message).toContain('does not say its architecture and board family');
    const e = refusal(() => checkDevice(manifest, files, device({ free_kib: '1', slot_b_kib: '2' }), 'root@opi'));
    expect(e.message).toBe("slot b needs 19 KiB, but root@opi's boot partition has room for 3 KiB: nothing was sent");
    expect(e.fix).toContain('CARD_BOOT_SIZE');
  });

  it("refuses a report it cannot read, quoting it", () => {
    expect(refusal(() => parseDeviceInfo('hello\n', 'root@opi')).message).toMatch(/^root@opi's \/opt\/skiff\/scripts\/slot-info.sh said something unexpected \(version: /);
  });
});
