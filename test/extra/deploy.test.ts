// Upgrades that cannot brick a board (issue 16): the Orange Pi card's two image slots and its
// boot.scr, run by the card's real U-Boot in qemu-system-arm -M orangepi-pc. A slot marked to try
// that never comes up is tried as often as skiff-slot.txt says, then the board is back on its good
// slot without anyone touching the card; `skiff push` sends a build over SSH (the system's OpenSSH
// client, QEMU's user network) into the slot the board does not run. The card carries the suite's
// armhf test kernel, as in board-image.test.ts (same workspace: whichever file runs first builds it).
// Outside `npm test` (docs/deploy.md says why): `npm run test:extra`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Console } from '../../harness/console.ts';
import { QemuMachine, freePort } from '../../harness/qemu.ts';
import { RelayPort } from '../../harness/relay.ts';
import { parseSlotState, slotStateText, type SlotState } from '../../images/boot-slots.ts';
import { BOOT_MARKER_LINE } from '../../images/boot-marker.ts';
import { mtoolsEnv } from '../../lib/mtools.ts';
import { partitions } from '../support/card.ts';
import { buildImage, buildTimeout } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { PROJECT, tempDir } from '../support/tree.ts';

/** The boot partition of a card image, through mtools: what a person with a card reader would do. */
function bootPartition(card: string) {
  const at = `${card}@@${partitions(card)[0]!.start * 512}`;
  const mtool = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, ['-i', at, ...args], { encoding: 'utf8', env: mtoolsEnv() });
    expect(r.status, `${cmd} ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  return {
    read: (file: string) => mtool('mtype', [`::/${file}`]),
    write: (file: string, from: string) => mtool('mcopy', ['-o', from, `::/${file}`]),
    copyOut: (file: string, to: string) => mtool('mcopy', ['-o', `::/${file}`, to]),
    mkdir: (dir: string) => mtool('mmd', [`::/${dir}`]),
  };
}

describe('orangepi/zero: two boot slots, and falling back from a broken one, in qemu-system-arm -M orangepi-pc', () => {
  const workspace = 'test-board-orangepi-zero';
  const work = tempDir('skiff-deploy-');
  const card = path.join(work, 'card.img');
  const port = new RelayPort();
  const console = new Console(port);
  let dir = '';
  let sshPort = 0;
  let machine: QemuMachine | undefined;
  let boot: ReturnType<typeof bootPartition>;

  /** Power on from the card, cutting the power first when it is on: the board's reset button. */
  async function powerOn() {
    await machine?.powerOff();
    console.skipAll();
    machine = new QemuMachine({ imageDir: dir, disk: card, sshPort });
    port.attach(machine);
  }
  const sh = async (command: string) => {
    const r = await console.run(command, 60_000);
    expect(r.status, `${command}\n${r.output}`).toBe(0);
    return r.output;
  };
  const state = (): SlotState => parseSlotState(boot.read('skiff-slot.txt'));
  const setState = (s: SlotState) => {
    fs.writeFileSync(path.join(work, 'state'), slotStateText(s));
    boot.write('skiff-slot.txt', path.join(work, 'state'));
  };

  beforeAll(async () => {
    sshPort = await freePort();
    dir = await buildImage(IMAGES.armhf.orangepi, workspace);
    fs.copyFileSync(path.join(dir, 'sdcard.img'), card);
    boot = bootPartition(card);
  }, buildTimeout(1));
  afterAll(async () => {
    await machine?.powerOff();
    fs.rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('tries a slot b whose kernel panics exactly as often as allowed, then boots slot a again by itself', async () => {
    // Slot b: slot a's kernel and device tree with an initramfs that is not one, so the kernel
    // panics (no root filesystem) instead of reaching SKIFF_READY.
    boot.mkdir('slot-b');
    boot.mkdir('slot-b/dtbs');
    for (const f of ['zImage', 'dtbs/sun8i-h2-plus-orangepi-zero.dtb']) {
      const local = path.join(work, path.basename(f));
      boot.copyOut(`slot-a/${f}`, local);
      boot.write(`slot-b/${f}`, local);
    }
    fs.writeFileSync(path.join(work, 'broken'), 'not an initramfs\n');
    boot.write('slot-b/initramfs.cpio.zst', path.join(work, 'broken'));
    // The card as built: slot a, nothing to try.
    expect(state()).toEqual({ good: 'a', tries: 0 });
    setState({ good: 'a', trial: 'b', tries: 2 });

    for (const left of [1, 0]) {
      await powerOn();
      await console.waitFor(`skiff: trying slot b, ${left} more tries after this one`, 120_000);
      await console.waitFor(/Kernel command line: panic=10 skiff\.slot=b/, 120_000);
      await console.waitFor('Kernel panic - not syncing', 120_000);
      // The try was counted on the card before the kernel started.
      expect(state()).toEqual(left > 0 ? { good: 'a', trial: 'b', tries: left } : { good: 'a', tries: 0 });
      // panic=10 restarts a real board (the H3 watchdog); QEMU 7.2 models no watchdog, so the
      // kernel halts and the test presses reset where the board would reset itself.
      await console.waitFor(/Reboot failed|Restarting system/, 60_000);
    }
    await powerOn();
    await console.waitFor('skiff: slot b used its tries without confirming; booting slot a', 120_000);
    await console.waitFor(BOOT_MARKER_LINE, 180_000);
    await console.run('true', 30_000);
    expect((await console.run('cat /proc/cmdline')).output).toMatch(/\bskiff\.slot=a\b/);
    // Persist came through the failed tries: the board mounted it as always.
    expect((await console.run('grep " /mnt/persist " /proc/mounts')).output).toMatch(/^\/dev\/mmcblk0p2 \/mnt\/persist ext4 /);
  }, 12 * 60_000);

  it('skiff push sends the build over SSH into the slot the board does not run, refusing first what does not fit, and --reboot comes back on it', async () => {
    // The board runs slot a (above); slot b still holds the image that panics. The device's own
    // check first: install-slot.sh refuses a staged image with a damaged file before the card is written.
    await sh('mkdir -p /run/stage /run/card && mount -t vfat -o ro /dev/mmcblk0p1 /run/card && cp -r /run/card/slot-a/. /run/stage/ && umount /run/card');
    await sh('cd /run/stage && sha256sum zImage initramfs.cpio.zst dtbs/sun8i-h2-plus-orangepi-zero.dtb > SHA256SUMS && echo damage >> zImage; cd /');
    const refused = await console.run('/opt/skiff/scripts/install-slot.sh /run/stage 2', 60_000);
    expect(refused.status).toBe(1);
    expect(refused.output).toContain('install-slot: the files in /run/stage do not match their SHA256SUMS');
    expect(state()).toEqual({ good: 'a', tries: 0 });

    // A person's login: a key made by OpenSSH's ssh-keygen, its public half on persist.
    const key = path.join(work, 'id_ed25519');
    expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'skiff-push-test', '-f', key]).status).toBe(0);
    // Boot collects skiff/keys/*.pub into root's authorized_keys (mount-all.sh): added there for
    // this boot too; the boot after the push logs in with the one on persist alone.
    const pub = fs.readFileSync(`${key}.pub`, 'utf8').trim();
    await sh(`echo '${pub}' > /mnt/persist/skiff/keys/push.pub && sync && echo '${pub}' >> /root/.ssh/authorized_keys`);
    // The board has its DHCP lease from QEMU's network before the first connection.
    for (let i = 0; !(await console.run('ip -4 addr show eth0')).output.includes('10.0.2.15'); i++) {
      expect(i, 'no DHCP lease on eth0').toBeLessThan(30);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const knownHosts = path.join(work, 'known_hosts');
    /** What a refused push must leave: the card's state, slot b still the image that panics, nothing staged. */
    const untouched = async () => {
      expect(state()).toEqual({ good: 'a', tries: 0 });
      expect(boot.read('slot-b/initramfs.cpio.zst')).toBe('not an initramfs\n');
      expect((await console.run('ls /run/skiff-push')).status).not.toBe(0);
    };
    const device = `root@127.0.0.1:${sshPort}`;
    const pushCli = (...args: string[]) =>
      execa(process.execPath, [path.join(PROJECT, 'bin/skiff.js'), 'push', 'root@127.0.0.1', '--port', String(sshPort), '--identity', key, '--known-hosts', knownHosts, ...args], {
        reject: false,
        env: { ...process.env, SKIFF_WORKSPACE: workspace },
      });

    // An unknown host key: refused, nothing written.
    let r = await pushCli();
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain(`the host key of ${device} is not known (not in ${knownHosts}): nothing was sent`);
    expect(r.stderr).toContain('--accept-new-host-key');
    await untouched();

    // A build of another architecture (this build's folder, its manifest saying arm64): refused.
    const other = path.join(work, 'other-build');
    fs.cpSync(dir, other, { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(other, 'manifest.json'), 'utf8')) as { arch: string };
    fs.writeFileSync(path.join(other, 'manifest.json'), JSON.stringify({ ...manifest, arch: 'arm64' }));
    r = await pushCli('--image', other, '--accept-new-host-key');
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`is for arm64, but ${device} runs armhf \\(SKIFF_CONFIG=orangepi/common,orangepi/zero,test/kernel_armhf\\): nothing was sent`));
    await untouched();
    // The host key was recorded on that first contact, as asked.
    // (Debian's ssh hashes the names in known_hosts: ssh-keygen -F finds the entry.)
    const found = spawnSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshPort}`, '-f', knownHosts], { encoding: 'utf8' });
    expect(found.stdout).toMatch(/ ssh-ed25519 AAAA/);

    // The push, with --reboot. QEMU 7.2's orangepi-pc cannot reset (docs/deploy.md): once init has
    // stopped everything and asked the kernel to restart, the test cuts the power and powers on,
    // as the board's reset would.
    const pushing = pushCli('--tries', '2', '--reboot', '--wait', '400');
    await console.waitFor('Requesting system reboot', 300_000);
    await new Promise((r) => setTimeout(r, 2000));
    await powerOn();
    r = await pushing;
    expect(r.exitCode, r.stderr).toBe(0);
    // The image a device reports is its slot's initramfs, as the manifest records it.
    const built = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { outputs: Record<string, { sha256: string }> };
    const image = built.outputs['boot/slot-a/initramfs.cpio.zst']!.sha256.slice(0, 12);
    expect(r.stderr).toContain(`${device} runs 0.1.0, slot a, image ${image}\n`);
    expect(r.stderr).toMatch(/sending 3 files \([\d.]+ MB\)/);
    // Slot b held the image that panics: it is replaced whole.
    expect(r.stderr).toContain('slot b written and verified; the next boot tries it (2 tries, then slot a again)');
    expect(r.stderr).toContain(`${device} runs 0.1.0, slot b, image ${image} (was 0.1.0, slot a, image ${image})`);
    // The card: slot b tried and confirmed by the new system, with the SHA256SUMS push sent.
    await console.waitFor('skiff: boot slot b confirmed: it is the good slot now (was a)', 60_000);
    expect(state()).toEqual({ good: 'b', tries: 0 });
    const sums = boot.read('slot-b/SHA256SUMS');
    expect(sums).toContain(`${built.outputs['boot/slot-a/zImage']!.sha256}  zImage\n`);
    expect(sums).toContain(`${built.outputs['boot/slot-a/initramfs.cpio.zst']!.sha256}  initramfs.cpio.zst\n`);
    // Persist untouched: the key put there before the push is still there.
    expect((await console.run('cat /mnt/persist/skiff/keys/push.pub')).output).toContain('skiff-push-test');
  }, 10 * 60_000);

  it('use-slot.sh makes the other slot the good one by hand, and the next boot runs it', async () => {
    // The board runs slot b (pushed above); slot a still holds the image as built.
    const refused = await console.run('/opt/skiff/scripts/use-slot.sh c', 30_000);
    expect(refused.status).toBe(1);
    expect(refused.output).toContain('use-slot: usage: use-slot.sh a|b');
    expect(state()).toEqual({ good: 'b', tries: 0 });
    expect(await sh('/opt/skiff/scripts/use-slot.sh a')).toContain('slot a');
    expect(state()).toEqual({ good: 'a', tries: 0 });
    await powerOn();
    await console.waitFor(BOOT_MARKER_LINE, 180_000);
    await console.run('true', 30_000);
    expect((await console.run('cat /proc/cmdline')).output).toMatch(/\bskiff\.slot=a\b/);
    expect(state()).toEqual({ good: 'a', tries: 0 });
  }, 5 * 60_000);
});
