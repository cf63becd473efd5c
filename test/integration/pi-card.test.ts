// A Raspberry Pi card from the debian backend, offline: the GPU firmware from Debian's raspi-firmware
// (non-free-firmware, pinned in the lock file), config.txt and cmdline.txt, the kernel, initramfs and
// device trees on the FAT partition, persist on the second. It boots in QEMU's model of the board,
// which cannot run the GPU firmware: the harness takes the firmware's part, reading config.txt,
// cmdline.txt and the files they name from the card (harness/rpi-boot.ts). The card carries the
// suite's armhf test kernel instead of multi_v7_defconfig (built by `npm run build:all-boards`).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QemuTarget } from '../../harness/targets/qemu.ts';
import { readManifest } from '../../images/manifest.ts';
import { buildImage, buildTimeout, skiffAsync } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { PROJECT } from '../support/tree.ts';

const MT = { ...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };
const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(cmd, args, { encoding: 'utf8', env });
const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

interface Partition {
  start: number;
  size: number;
  type: string;
}
const partitions = (img: string) => (JSON.parse(sh('sfdisk', ['--json', img]).stdout) as { partitiontable: { partitions: Partition[] } }).partitiontable.partitions;
const fatList = (img: string, offset: number) =>
  sh('mdir', ['-/', '-b', '-i', `${img}@@${offset}`, '::/'], MT)
    .stdout.split('\n')
    .filter((l) => l && !l.endsWith('/'))
    .map((l) => l.replace(/^::\//, ''))
    .sort();
const fatFile = (img: string, offset: number, file: string) => sh('mtype', ['-i', `${img}@@${offset}`, `::/${file}`], MT).stdout;
const fatBytes = (img: string, offset: number, file: string) => spawnSync('mcopy', ['-n', '-i', `${img}@@${offset}`, `::/${file}`, '-'], { env: MT, maxBuffer: 64 << 20 }).stdout;

describe('pi/3: a Raspberry Pi 2/3 card built offline that boots in QEMU', () => {
  const workspace = 'test-board-pi3';
  let dir = '';
  let target: QemuTarget | undefined;
  afterAll(async () => {
    await target?.close();
  }, 60_000);

  it('builds a card: Debian\'s GPU firmware, config.txt, cmdline.txt, zImage and the device trees on FAT, ext4 persist', async () => {
    dir = await buildImage(IMAGES.armhf.pi3, workspace);
    const m = readManifest(dir);
    expect(m).toMatchObject({ arch: 'armhf', bootMethod: 'rpi-firmware', board: { card: 'sdcard.img', firmware: { pkg: 'raspi-firmware' } } });
    const card = path.join(dir, 'sdcard.img');
    const [boot, persist] = partitions(card);
    expect(boot).toMatchObject({ start: 2048, type: 'e' });
    expect(persist!.type).toBe('83');
    expect(sh('e2fsck', ['-fn', `${card}?offset=${persist!.start * 512}`]).status).toBe(0);
    const at = boot!.start * 512;
    expect(fatList(card, at)).toEqual(
      ['bcm2836-rpi-2-b.dtb', 'bcm2837-rpi-3-a-plus.dtb', 'bcm2837-rpi-3-b-plus.dtb', 'bcm2837-rpi-3-b.dtb', 'bcm2837-rpi-cm3-io3.dtb', 'bootcode.bin', 'cmdline.txt', 'config.txt', 'fixup.dat', 'initramfs.cpio.zst', 'start.elf', 'zImage'].sort(),
    );
    expect(fatFile(card, at, 'config.txt')).toMatch(/^kernel=zImage$/m);
    expect(fatFile(card, at, 'config.txt')).toMatch(/^initramfs initramfs\.cpio\.zst followkernel$/m);
    expect(fatFile(card, at, 'config.txt')).not.toMatch(/arm_64bit/);

    // The firmware is Debian's, as pinned in the committed lock file: start_x.elf under the name bootcode.bin loads.
    const lock = JSON.parse(fs.readFileSync(path.join(PROJECT, 'images/debian-lock.json'), 'utf8')) as { bootloaders: Record<string, { version: string; sha256: string; filename: string }> };
    const pinned = lock.bootloaders['armhf/raspi-firmware']!;
    expect(pinned.filename).toMatch(/^pool\/non-free-firmware\/r\/raspi-firmware\//);
    expect(m.board!.firmware).toEqual({ pkg: 'raspi-firmware', version: pinned.version });
    const deb = path.join(PROJECT, '.cache/debs', path.basename(pinned.filename));
    expect(sha256(fs.readFileSync(deb))).toBe(pinned.sha256);
    const unpacked = path.join(PROJECT, '.cache/extracted', path.basename(pinned.filename, '.deb'), 'usr/lib/raspi-firmware');
    for (const [from, to] of [['start_x.elf', 'start.elf'], ['fixup_x.dat', 'fixup.dat'], ['bootcode.bin', 'bootcode.bin']] as const) {
      expect(sha256(fatBytes(card, at, to)), to).toBe(sha256(fs.readFileSync(path.join(unpacked, from))));
    }
  }, buildTimeout(1));

  it('boots in qemu-system-arm -M raspi2b from the card: kernel, initramfs, device tree and cmdline.txt from FAT, persist on mmcblk0p2', async () => {
    target = new QemuTarget('raspi2b', dir);
    const info = await target.powerCycle(true);
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect((await target.console.run('uname -m')).output.trim()).toBe('armv7l');
    expect((await target.console.run("tr -d '\\0' < /proc/device-tree/model; echo")).output.trim()).toBe('Raspberry Pi 2 Model B');
    expect((await target.console.run('grep " /mnt/persist " /proc/mounts')).output).toMatch(/^\/dev\/mmcblk0p2 \/mnt\/persist ext4 /);
    await target.close();
    target = undefined;
  }, 10 * 60_000);

  it('passes the boot, persist and power-loss scenarios through skiff test --target qemu', async () => {
    const r = await skiffAsync(['test', '--target', 'qemu', '--scenario', 'boot,persist,power-loss'], { SKIFF_WORKSPACE: workspace });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('3 passed, 0 failed');
  }, 15 * 60_000);
});
