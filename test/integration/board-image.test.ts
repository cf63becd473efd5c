// Board images from the debian backend: a cross-compiled kernel, the board's device tree, U-Boot
// from Debian's package, laid out on a card image as upstream lays out an SD card. The Orange Pi
// Zero's card boots in QEMU's model of its SoC; the ROCK64's is checked. Both carry the suite's
// test kernel of their architecture instead of the board's full defconfig build (that one is
// `npm run build:all-boards`): see test/layers/README.md. Everything else on the cards is the board's.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QemuTarget } from '../../harness/targets/qemu.ts';
import { ext4Label, fatFile, fatList, partitions, readAt, sh, sha256 } from '../support/card.ts';
import { buildImage, buildTimeout, outDirOf, skiffAsync } from '../support/image.ts';
import { IMAGES, withTestLayers } from '../support/test-kernels.ts';
import { PROJECT, tempDir } from '../support/tree.ts';
import { readManifest } from '../../images/manifest.ts';
import { mtoolsEnv } from '../../lib/mtools.ts';

const MiB = 1024 * 1024;
/** `skiff cmd orangepi/common/install` onto work/card.img from a workspace's build; its stderr (the plan and the steps). */
function installCard(work: string, workspace: string): string {
  const r = spawnSync(process.execPath, [path.join(PROJECT, 'bin/skiff.js'), 'cmd', 'orangepi/common/install'], {
    cwd: work,
    env: { ...process.env, ...withTestLayers({ SKIFF_WORKSPACE: workspace, ORANGEPI_SD: 'card.img', SKIFF_YES: 'yes', PWD: work }) },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr;
}


/** The card's layout as the test expects every board's: boot (FAT, bootable) after the bootloader, then persist (ext4). */
function checkCard(dir: string, bootStart: number) {
  const m = readManifest(dir);
  const card = path.join(dir, m.board!.card);
  const parts = partitions(card);
  expect(parts).toHaveLength(2);
  expect(parts[0]).toMatchObject({ start: bootStart / 512, type: 'e', bootable: true });
  expect(parts[1]!.type).toBe('83');
  expect(parts[1]!.start).toBe(parts[0]!.start + parts[0]!.size);
  expect(ext4Label(card, parts[1]!.start * 512)).toBe('persist');
  expect(sh('e2fsck', ['-fn', `${card}?offset=${parts[1]!.start * 512}`]).status).toBe(0);
  // Each blob sits at its offset byte for byte, and is the file Debian's package ships.
  for (const b of m.board!.bootloader!.blobs) {
    const shipped = fs.readFileSync(path.join(dir, 'bootloader', b.file));
    expect(sha256(readAt(card, b.offset, shipped.length)), b.file).toBe(sha256(shipped));
  }
  return { m, card, bootAt: parts[0]!.start * 512, persistAt: parts[1]!.start * 512 };
}

describe('orangepi/zero: an armhf board card that boots in QEMU', () => {
  const workspace = 'test-board-orangepi-zero';
  let dir = '';
  let target: QemuTarget | undefined;
  afterAll(async () => {
    await target?.close();
  }, 60_000);

  it('builds a card: U-Boot SPL 8 KiB in, FAT boot with boot.scr, the slot state and slot a (zImage, initramfs, dtb), ext4 persist', async () => {
    dir = await buildImage(IMAGES.armhf.orangepi, workspace);
    const { m, card, bootAt } = checkCard(dir, 1 * MiB);
    expect(m).toMatchObject({ arch: 'armhf', bootMethod: 'uboot-script', board: { card: 'sdcard.img' }, qemu: { binary: 'qemu-system-arm', machine: 'orangepi-pc', memoryMB: 1024 } });
    expect(m.board!.bootloader).toMatchObject({ pkg: 'u-boot-sunxi', target: 'orangepi_zero', blobs: [{ file: 'u-boot-sunxi-with-spl.bin', offset: 8192 }] });
    // The Allwinner boot ROM looks for the eGON.BT0 header at 8 KiB.
    expect(readAt(card, 8192 + 4, 8).toString('latin1')).toBe('eGON.BT0');
    expect(fs.statSync(card).size).toBe(256 * MiB);
    expect(fatList(card, bootAt)).toEqual(['boot.cmd', 'boot.scr', 'skiff-slot.txt', 'slot-a/dtbs/sun8i-h2-plus-orangepi-zero.dtb', 'slot-a/initramfs.cpio.zst', 'slot-a/zImage']);
    expect(fatFile(card, bootAt, 'skiff-slot.txt')).toBe('skiff_good=a\nskiff_trial=none\nskiff_tries=0\n');
    // A 32-bit arm zImage carries 0x016f2818 at 0x24; the script loads what is on the partition.
    expect(readAt(path.join(dir, 'boot/slot-a/zImage'), 0x24, 4).readUInt32LE(0)).toBe(0x016f2818);
    const script = fatFile(card, bootAt, 'boot.cmd');
    expect(script).toContain('slot-${skiff_slot}/dtbs/sun8i-h2-plus-orangepi-zero.dtb');
    expect(script).toMatch(/bootz \$\{kernel_addr_r\} \$\{ramdisk_addr_r\}:\$\{filesize\} \$\{fdt_addr_r\}/);
    // boot.scr is boot.cmd in a U-Boot script image (magic 0x27051956).
    expect(readAt(path.join(dir, 'boot/boot.scr'), 0, 4).readUInt32BE(0)).toBe(0x27051956);
  }, buildTimeout(1));

  it('boots from the card in qemu-system-arm -M orangepi-pc: SPL, U-Boot, boot.scr, kernel, persist on mmcblk0p2', async () => {
    target = new QemuTarget('orangepi-pc', dir);
    const info = await target.powerCycle(true);
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect(target.console.output).toMatch(/U-Boot SPL 2023\.01/);
    expect(target.console.output).toContain('Model: Xunlong Orange Pi Zero');
    expect((await target.console.run('uname -m')).output.trim()).toBe('armv7l');
    // The card's boot.scr booted slot a (BOOT_SLOTS=ab) and said so on the kernel's command line.
    expect((await target.console.run('cat /proc/cmdline')).output).toMatch(/\bskiff\.slot=a\b/);
    expect((await target.console.run("tr -d '\\0' < /proc/device-tree/model; echo")).output.trim()).toBe('Xunlong Orange Pi Zero');
    expect((await target.console.run('grep " /mnt/persist " /proc/mounts')).output).toMatch(/^\/dev\/mmcblk0p2 \/mnt\/persist ext4 /);
    await target.close();
    target = undefined;
  }, 10 * 60_000);

  it('passes the boot, persist and power-loss scenarios through skiff test --target qemu', async () => {
    const r = await skiffAsync(['test', '--target', 'qemu', '--scenario', 'boot,persist,power-loss'], { SKIFF_WORKSPACE: workspace });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('3 passed, 0 failed');
  }, 15 * 60_000);

  it('install (skiff cmd orangepi/common/install) restores boot files and U-Boot on a used card and leaves persist alone', async () => {
    const work = tempDir('skiff-board-');
    const card = path.join(work, 'card.img');
    fs.copyFileSync(path.join(dir, 'sdcard.img'), card);
    const { bootAt, persistAt } = checkCard(dir, 1 * MiB);
    // A card in use: state on persist, an old boot script, and a damaged SPL.
    const note = path.join(work, 'note');
    fs.writeFileSync(note, 'hostname=zero\n');
    expect(sh('debugfs', ['-w', '-R', `write ${note} kept`, `${card}?offset=${persistAt}`]).status).toBe(0);
    const persistBefore = sha256(readAt(card, persistAt, 256 * MiB - persistAt));
    expect(sh('mdel', ['-i', `${card}@@${bootAt}`, '::/boot.scr'], mtoolsEnv()).status).toBe(0);
    const fd = fs.openSync(card, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, 8192);
    fs.closeSync(fd);

    const stderr = installCard(work, workspace);
    expect(stderr).toContain('partition 2 (persist, 191 MiB) is not touched');
    expect(stderr).toContain('writing u-boot-sunxi-with-spl.bin at 8.0 KiB');
    expect(readAt(card, 8192 + 4, 8).toString('latin1')).toBe('eGON.BT0');
    expect(fatList(card, bootAt)).toContain('boot.scr');
    expect(sha256(readAt(card, persistAt, 256 * MiB - persistAt))).toBe(persistBefore);
    expect(sh('debugfs', ['-R', 'cat kept', `${card}?offset=${persistAt}`]).stdout).toBe('hostname=zero\n');
    fs.rmSync(work, { recursive: true, force: true });
  }, 60_000);
});

// Skiff Core on a board: this x86 host cannot run armhf programs, so debootstrap's second stage is
// left to the board (the amd64 twin of that path boots in test/integration/core-qemu.test.ts).
describe.skipIf(process.getuid?.() !== 0)('orangepi/zero,skiff/core: the core image on the card', () => {
  it('puts a debootstrap --foreign armhf core image on persist, as if imported, for the board to finish', async () => {
    const dir = await buildImage(IMAGES.armhf.orangepiCore, 'test-board-orangepi-core');
    const m = readManifest(dir);
    expect(m.core).toMatchObject({ image: 'skiffos/skiff-core-debian:bookworm', finishedOnDevice: true });
    expect(m.core?.packages.some((p) => /^bash \d/.test(p))).toBe(true);
    const card = path.join(dir, 'sdcard.img');
    // Room for the image and for finishing it: a 1 GiB card when no layer says otherwise.
    expect(fs.statSync(card).size).toBe(1024 * MiB);
    const persist = partitions(card)[1]!;
    const at = `${card}?offset=${persist.start * 512}`;
    const listing = sh('debugfs', ['-R', 'ls -l /skiff/core/images', at]).stdout;
    const file = 'skiffos_skiff-core-debian_bookworm.squashfs';
    expect(listing).toContain(file);
    const shipped = path.join(dir, 'core', file);
    const copy = path.join(tempDir('skiff-card-core-'), file);
    sh('debugfs', ['-R', `dump /skiff/core/images/${file} ${copy}`, at]);
    expect(sha256(fs.readFileSync(copy))).toBe(sha256(fs.readFileSync(shipped)));
    expect(sh('debugfs', ['-R', `cat /skiff/core/images/${file}.sha256`, at]).stdout.trim()).toBe(sha256(fs.readFileSync(shipped)));
    // A first-stage tree: armhf packages waiting in the archive cache, debootstrap's second stage beside them.
    const files = sh('unsquashfs', ['-l', shipped]).stdout;
    expect(files).toMatch(/debootstrap\/debootstrap$/m);
    expect(files).toMatch(/var\/cache\/apt\/archives\/bash_[^/]*_armhf\.deb$/m);
  }, buildTimeout(1));

  it('install brings a changed core image onto persist, and leaves persist alone when the board has this one', () => {
    const dir = outDirOf('test-board-orangepi-core');
    const work = tempDir('skiff-board-core-');
    const card = path.join(work, 'card.img');
    fs.copyFileSync(path.join(dir, 'sdcard.img'), card);
    const persist = partitions(card)[1]!;
    const at = `${card}?offset=${persist.start * 512}`;
    const persistBytes = () => sha256(readAt(card, persist.start * 512, persist.size * 512));
    const debugfs = (script: string) => expect(spawnSync('debugfs', ['-w', '-f', '-', at], { input: script, encoding: 'utf8' }).status).toBe(0);
    const install = () => installCard(work, 'test-board-orangepi-core');
    const file = 'skiffos_skiff-core-debian_bookworm.squashfs';
    const images = '/skiff/core/images';
    const sha = sha256(fs.readFileSync(path.join(dir, 'core', file)));
    const old = path.join(work, 'old');
    fs.writeFileSync(old, 'an older build\n');
    fs.writeFileSync(path.join(work, 'note'), 'state\n');

    // The card as built: the image is there, as imported.
    let before = persistBytes();
    expect(install()).toContain("Skiff Core's image there is this build's already");
    expect(persistBytes()).toBe(before);

    // An older build's image, imported but not finished yet, on a card pulled from a running board
    // (its journal not replayed): replaced, after the replay; the rest of persist kept.
    debugfs(`rm ${images}/${file}\nrm ${images}/${file}.sha256\nwrite ${old} ${images}/${file}\nwrite ${old} ${images}/${file}.sha256\nwrite ${path.join(work, 'note')} kept\nfeature needs_recovery\n`);
    const upgraded = install();
    expect(upgraded).toMatch(/Skiff Core's image changed: writes skiffos_skiff-core-debian_bookworm\.squashfs, skiffos_skiff-core-debian_bookworm\.squashfs\.sha256/);
    expect(upgraded).toContain('replaying the journal of partition 2 (e2fsck -p)');
    expect(sh('debugfs', ['-R', 'stats', at]).stdout).not.toMatch(/needs_recovery/);
    const copy = path.join(work, 'copy');
    sh('debugfs', ['-R', `dump ${images}/${file} ${copy}`, at]);
    expect(sha256(fs.readFileSync(copy))).toBe(sha);
    expect(sh('debugfs', ['-R', `cat ${images}/${file}.sha256`, at]).stdout.trim()).toBe(sha);
    expect(sh('debugfs', ['-R', 'cat kept', at]).stdout).toBe('state\n');
    expect(sh('e2fsck', ['-fn', at]).status).toBe(0);

    // The board finished this image and deleted the squashfs: nothing to write.
    fs.writeFileSync(path.join(work, 'marker'), `${sha}\n`);
    debugfs(`rm ${images}/${file}\nrm ${images}/${file}.sha256\nwrite ${path.join(work, 'marker')} ${images}/skiffos_skiff-core-debian_bookworm.rootfs.finished\n`);
    before = persistBytes();
    expect(install()).toContain("Skiff Core's image there is this build's already");
    expect(persistBytes()).toBe(before);
    fs.rmSync(work, { recursive: true, force: true });
  }, 120_000);
});

describe('pine64/rock64: an arm64 board card (Rockchip layout, extlinux)', () => {
  it('builds a card: idbloader 32 KiB in, u-boot.itb at 8 MiB, boot at 16 MiB with Image, the dtb and extlinux.conf', async () => {
    // This card is checked, not booted (QEMU has no RK3328), so the kernel it carries is
    // virt/qemu_arm64's (test/kernel_arm64): the family's trimmed defconfig takes 14 of CI's minutes
    // and is built by `npm run build:all-boards`. U-Boot, the layout, the device tree and extlinux are the board's.
    const dir = await buildImage(IMAGES.arm64.rock64, 'test-board-rock64');
    const { m, card, bootAt } = checkCard(dir, 16 * MiB);
    expect(m).toMatchObject({ arch: 'arm64', bootMethod: 'uboot-extlinux' });
    expect(m.board!.bootloader).toMatchObject({
      pkg: 'u-boot-rockchip',
      target: 'rock64-rk3328',
      blobs: [
        { file: 'idbloader.img', offset: 32 * 1024 },
        { file: 'u-boot.itb', offset: 8 * MiB },
      ],
    });
    expect(fatList(card, bootAt)).toEqual(['Image', 'dtbs/rockchip/rk3328-rock64.dtb', 'extlinux/extlinux.conf', 'initramfs.cpio.zst']);
    // The arm64 Image header carries "ARM\x64" at 56.
    expect(readAt(path.join(dir, 'boot/Image'), 56, 4).toString('latin1')).toBe('ARM\x64');
    const conf = fatFile(card, bootAt, 'extlinux/extlinux.conf');
    expect(conf).toMatch(/^\s*kernel \/Image$/m);
    expect(conf).toMatch(/^\s*fdt \/dtbs\/rockchip\/rk3328-rock64\.dtb$/m);
    expect(conf).toMatch(/^\s*initrd \/initramfs\.cpio\.zst$/m);
    // The device tree is the board's: its model string is in the blob.
    expect(fs.readFileSync(path.join(dir, 'boot/dtbs/rockchip/rk3328-rock64.dtb')).includes('Pine64 Rock64')).toBe(true);
  }, buildTimeout(1));
});
