// Upgrades that cannot brick a board (issue 16), the foundation: the Orange Pi card's two image
// slots and its boot.scr, run by the card's real U-Boot in qemu-system-arm -M orangepi-pc. A slot
// marked to try that never comes up is tried as often as skiff-slot.txt says, then the board is
// back on its good slot without anyone touching the card. The card carries the suite's armhf test
// kernel, as in board-image.test.ts (same workspace, so the build there is reused).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Console } from '../../harness/console.ts';
import { QemuMachine } from '../../harness/qemu.ts';
import { RelayPort } from '../../harness/relay.ts';
import { parseSlotState, slotStateText, type SlotState } from '../../buildroot/debian/boot-slots.ts';
import { BOOT_MARKER_LINE } from '../../images/boot-marker.ts';
import { buildImage, buildTimeout } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { tempDir } from '../support/tree.ts';

const MT = { ...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };

/** The boot partition of a card image, through mtools: what a person with a card reader would do. */
function bootPartition(card: string) {
  const table = JSON.parse(spawnSync('sfdisk', ['--json', card], { encoding: 'utf8' }).stdout) as { partitiontable: { partitions: { start: number }[] } };
  const at = `${card}@@${table.partitiontable.partitions[0]!.start * 512}`;
  const mtool = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, ['-i', at, ...args], { encoding: 'utf8', env: MT });
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
  let machine: QemuMachine | undefined;
  let boot: ReturnType<typeof bootPartition>;

  /** Power on from the card, cutting the power first when it is on: the board's reset button. */
  async function powerOn() {
    await machine?.powerOff();
    console.skipAll();
    machine = new QemuMachine({ imageDir: dir, disk: card });
    port.attach(machine);
  }
  const state = (): SlotState => parseSlotState(boot.read('skiff-slot.txt'));
  const setState = (s: SlotState) => {
    fs.writeFileSync(path.join(work, 'state'), slotStateText(s));
    boot.write('skiff-slot.txt', path.join(work, 'state'));
  };

  beforeAll(async () => {
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

  it('confirms a good slot b after SKIFF_READY: tried once, then made the good slot by the running system', async () => {
    // Slot b made whole: slot a's initramfs instead of the broken one.
    boot.copyOut('slot-a/initramfs.cpio.zst', path.join(work, 'initramfs'));
    boot.write('slot-b/initramfs.cpio.zst', path.join(work, 'initramfs'));
    setState({ good: 'a', trial: 'b', tries: 2 });
    await powerOn();
    await console.waitFor('skiff: trying slot b, 1 more tries after this one', 120_000);
    await console.waitFor(BOOT_MARKER_LINE, 180_000);
    await console.waitFor('skiff: boot slot b confirmed: it is the good slot now (was a)', 60_000);
    await console.run('true', 30_000);
    expect((await console.run('cat /proc/cmdline')).output).toMatch(/\bskiff\.slot=b\b/);
    expect(state()).toEqual({ good: 'b', tries: 0 });
  }, 8 * 60_000);

  it('install-slot.sh writes an image into the other slot, checks it against SHA256SUMS read back from the card, and only then names it to try', async () => {
    // The board runs slot b (above). What `skiff push` will send, staged on the board: here the
    // running slot's own files, so the image is one that boots.
    const sh = async (command: string) => {
      const r = await console.run(command, 60_000);
      expect(r.status, `${command}\n${r.output}`).toBe(0);
      return r.output;
    };
    await sh('mkdir -p /run/stage /run/card && mount -t vfat -o ro /dev/mmcblk0p1 /run/card && cp -r /run/card/slot-b/. /run/stage/ && umount /run/card');
    await sh('cd /run/stage && sha256sum zImage initramfs.cpio.zst dtbs/sun8i-h2-plus-orangepi-zero.dtb > SHA256SUMS; cd /');
    // A file that does not match its sum is refused before the card is written.
    await sh('cp /run/stage/zImage /run/zImage.good && echo damage >> /run/stage/zImage');
    const refused = await console.run('/opt/skiff/scripts/install-slot.sh /run/stage 2', 60_000);
    expect(refused.status).toBe(1);
    expect(refused.output).toContain('install-slot: the files in /run/stage do not match their SHA256SUMS');
    expect(state()).toEqual({ good: 'b', tries: 0 });
    await sh('cp /run/zImage.good /run/stage/zImage');
    expect(await sh('/opt/skiff/scripts/install-slot.sh /run/stage 2')).toContain('slot a');
    expect(state()).toEqual({ good: 'b', trial: 'a', tries: 2 });
    // A power cut; the board tries slot a, which comes up and confirms itself.
    await powerOn();
    await console.waitFor('skiff: trying slot a, 1 more tries after this one', 120_000);
    await console.waitFor(BOOT_MARKER_LINE, 180_000);
    await console.waitFor('skiff: boot slot a confirmed: it is the good slot now (was b)', 60_000);
    await console.run('true', 30_000);
    expect(state()).toEqual({ good: 'a', tries: 0 });
    expect(boot.read('slot-a/SHA256SUMS')).toMatch(/ zImage\n/);
  }, 8 * 60_000);
});
