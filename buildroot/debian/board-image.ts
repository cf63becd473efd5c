// What a board boots from: the boot partition's files (kernel, initramfs, device trees, and the
// U-Boot script or extlinux.conf that ties them together), the bootloader blobs from Debian's
// u-boot-* package, and the whole card as an image file.
import fs from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../../lib/errors.ts';
import type { ArchInfo } from './arch.ts';
import { FIRST_STATE, SLOT_STATE_FILE, slotDir, slotStateText } from '../../images/boot-slots.ts';
import { bootSlots, slotBootScript } from './boot-slots.ts';
import { type Bootloader, type BootloaderPlan, parseSize, planBootloader } from './bootloader.ts';
import { type Firmware, type FirmwarePlan, planFirmware } from './firmware.ts';
import { writeCardImage } from './flash.ts';
import type { Progress } from './progress.ts';
import { run } from './run.ts';

export const BOARD_BOOT_METHODS = new Set(['uboot-script', 'uboot-extlinux', 'rpi-firmware']);

const MiB = 1024 * 1024;

export interface BoardBoot {
  kernelImage: string;
  kernelFile: string;
  initramfs: Buffer;
  /** Absolute paths of the built device trees, and their paths under dtbs/ (rockchip/rk3328-rock64.dtb). */
  dtbs: { file: string; rel: string }[];
}

/** U-Boot's distro boot finds boot.scr on the bootable partition and runs it with devtype, devnum and distro_bootpart set. */
export function bootScript(kernel: string, dtb: string, cmdline: string, arm64: boolean, chain: string): string {
  const load = (addr: string, file: string) => `load \${devtype} \${devnum}:\${distro_bootpart} \${${addr}} ${file}`;
  return [
    `# SkiffOS boot script for ${chain}, written by skiff compile; boot.scr is this file wrapped by mkimage.`,
    `setenv bootargs "${cmdline}"`,
    load('kernel_addr_r', kernel),
    load('fdt_addr_r', `dtbs/${dtb}`),
    // Loaded last so that ${filesize} is the initramfs's size: boot[zi] takes a raw initramfs as addr:size.
    load('ramdisk_addr_r', 'initramfs.cpio.zst'),
    `${arm64 ? 'booti' : 'bootz'} \${kernel_addr_r} \${ramdisk_addr_r}:\${filesize} \${fdt_addr_r}`,
    '',
  ].join('\n');
}

/**
 * The config.txt the Raspberry Pi's GPU firmware reads from the boot partition: which kernel, in
 * which mode, with which initramfs. The firmware picks the board's device tree from the partition's
 * top level by itself, and passes cmdline.txt to the kernel.
 */
export function rpiConfigTxt(kernel: string, arm64: boolean, chain: string): string {
  return [
    `# SkiffOS for ${chain}, written by skiff compile; the GPU firmware reads this file.`,
    ...(arm64 ? ['# Start the ARM cores in 64-bit mode for the arm64 kernel.', 'arm_64bit=1'] : []),
    `kernel=${kernel}`,
    // followkernel: loaded right after the kernel, wherever that went.
    'initramfs initramfs.cpio.zst followkernel',
    '# The serial console on GPIO 14 and 15, at 115200 baud.',
    'enable_uart=1',
    '',
  ].join('\n');
}

/** The extlinux.conf U-Boot's distro boot reads from /extlinux/ on the boot partition. */
export function extlinuxConf(kernel: string, dtb: string, cmdline: string, chain: string): string {
  return [
    `# SkiffOS for ${chain}, written by skiff compile.`,
    'default skiff',
    'timeout 1',
    'label skiff',
    `  kernel /${kernel}`,
    `  fdt /dtbs/${dtb}`,
    '  initrd /initramfs.cpio.zst',
    // No append line without arguments: the console then comes from the device tree's stdout-path.
    ...(cmdline ? [`  append ${cmdline}`] : []),
    '',
  ].join('\n');
}

export interface CardPlan {
  sizeMiB: number;
  bootSizeMiB: number;
  bootloader?: BootloaderPlan;
  /** Firmware the board's boot ROM or GPU loads from the boot partition (BOOT_METHOD=rpi-firmware). */
  firmware?: FirmwarePlan;
  /** The device tree the boot script loads, as under dtbs/ (rockchip/rk3328-rock64.dtb). */
  dtb: string;
  cmdline: string;
  /** BOOT_SLOTS=ab: the kernel, initramfs and dtbs in slot-a/ (slot-b/ is for an upgrade), and skiff-slot.txt. */
  slots: boolean;
}

/**
 * Everything about a board's card that can be checked before the kernel is built: the bootloader
 * layout, the device tree to boot (KERNEL_DTB, else the first of KERNEL_DTBS), the kernel
 * arguments (KERNEL_CMDLINE), and the card image's sizes (CARD_IMAGE_SIZE, a power of
 * two as QEMU's SD card model demands; CARD_BOOT_SIZE).
 */
export function planCard(settings: Record<string, string>, chain: string, defaultSize = '256M'): CardPlan {
  const dtbs = (settings.KERNEL_DTBS ?? '').split(/\s+/).filter(Boolean).map((d) => d.replace(/\.dts$/, '.dtb'));
  if (dtbs.length === 0) {
    throw new SkiffError(`${chain} boots with U-Boot but names no device tree`, 'set KERNEL_DTBS in the board layer\'s debian/config, e.g. KERNEL_DTBS=sun8i-h3-orangepi-lite.dtb');
  }
  const dtb = settings.KERNEL_DTB ?? dtbs[0]!;
  if (!dtbs.includes(dtb)) throw new SkiffError(`KERNEL_DTB=${dtb} is not among the device trees the layers build (${dtbs.join(', ')})`, 'add it to KERNEL_DTBS');
  const sizeMiB = parseSize(settings.CARD_IMAGE_SIZE ?? defaultSize, 'CARD_IMAGE_SIZE') / MiB;
  if (!Number.isInteger(sizeMiB) || (sizeMiB & (sizeMiB - 1)) !== 0) {
    throw new SkiffError(`CARD_IMAGE_SIZE=${settings.CARD_IMAGE_SIZE} is not a power of two MiB`, 'QEMU\'s SD card model takes only power-of-two sizes: e.g. 256M, 512M, 1024M');
  }
  const bootSizeMiB = parseSize(settings.CARD_BOOT_SIZE ?? '64M', 'CARD_BOOT_SIZE') / MiB;
  // A Pi's firmware loads the kernel itself; its layers' UBOOT_* only name a U-Boot one could chain-load instead.
  const bootloader = settings.BOOT_METHOD === 'rpi-firmware' ? undefined : planBootloader(settings, chain);
  if (!Number.isInteger(bootSizeMiB) || bootSizeMiB < 8 || (bootloader?.bootStart ?? MiB) + (bootSizeMiB + 16) * MiB > sizeMiB * MiB) {
    throw new SkiffError(`CARD_BOOT_SIZE=${settings.CARD_BOOT_SIZE ?? '64M'} does not fit a ${sizeMiB} MiB card with 16 MiB of persist`, 'make CARD_BOOT_SIZE smaller or CARD_IMAGE_SIZE larger');
  }
  const firmware = planFirmware(settings, chain);
  if (settings.BOOT_METHOD === 'rpi-firmware' && !firmware) {
    throw new SkiffError(`${chain} boots through the Raspberry Pi GPU firmware but names no FIRMWARE_PACKAGE`, 'pi/common sets FIRMWARE_PACKAGE=raspi-firmware: add pi/common to the stack');
  }
  return { sizeMiB, bootSizeMiB, bootloader, ...(firmware ? { firmware } : {}), dtb, cmdline: settings.KERNEL_CMDLINE ?? '', slots: bootSlots(settings, chain) };
}

/** Writes boot/, bootloader/ (the blobs) and the card image into `out`. Returns what the manifest records. */
export async function writeBoardImage(
  opts: { out: string; arch: ArchInfo; bootMethod: string; chain: string; epoch: number; boot: BoardBoot; card: CardPlan; bootloader?: Bootloader; firmware?: Firmware },
  progress: Progress,
): Promise<{ bootloader?: Pick<Bootloader, 'pkg' | 'version' | 'target' | 'blobs' | 'bootStart'>; card: string }> {
  const { out, chain, boot, bootloader } = opts;
  const { dtb, cmdline } = opts.card;
  const bootDir = path.join(out, 'boot');
  fs.mkdirSync(bootDir, { recursive: true });
  // With two slots the build fills slot a; an upgrade writes the other one.
  const imageDir = opts.card.slots ? path.join(bootDir, slotDir('a')) : bootDir;
  fs.mkdirSync(imageDir, { recursive: true });
  fs.copyFileSync(boot.kernelFile, path.join(imageDir, boot.kernelImage));
  fs.writeFileSync(path.join(imageDir, 'initramfs.cpio.zst'), boot.initramfs);
  // The GPU firmware looks for the board's device tree at the top of the partition; U-Boot's scripts load it from dtbs/.
  const rpi = opts.bootMethod === 'rpi-firmware';
  for (const d of boot.dtbs) {
    const to = rpi ? path.join(bootDir, path.basename(d.rel)) : path.join(imageDir, 'dtbs', d.rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(d.file, to);
  }
  for (const f of opts.firmware?.files ?? []) fs.copyFileSync(f.path, path.join(bootDir, f.to));
  if (rpi) {
    fs.writeFileSync(path.join(bootDir, 'config.txt'), rpiConfigTxt(boot.kernelImage, opts.arch.kernelArch === 'arm64', chain));
    fs.writeFileSync(path.join(bootDir, 'cmdline.txt'), `${cmdline}\n`);
  } else if (opts.bootMethod === 'uboot-script') {
    const arm64 = opts.arch.kernelArch === 'arm64';
    fs.writeFileSync(path.join(bootDir, 'boot.cmd'), (opts.card.slots ? slotBootScript : bootScript)(boot.kernelImage, dtb, cmdline, arm64, chain));
    if (opts.card.slots) fs.writeFileSync(path.join(bootDir, SLOT_STATE_FILE), slotStateText(FIRST_STATE));
    // mkimage stamps the header with the time: SOURCE_DATE_EPOCH keeps it reproducible.
    await run('mkimage', ['-A', opts.arch.kernelArch === 'arm64' ? 'arm64' : 'arm', '-O', 'linux', '-T', 'script', '-C', 'none', '-n', 'SkiffOS', '-d', path.join(bootDir, 'boot.cmd'), path.join(bootDir, 'boot.scr')], {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(opts.epoch) },
    });
  } else {
    fs.mkdirSync(path.join(bootDir, 'extlinux'), { recursive: true });
    fs.writeFileSync(path.join(bootDir, 'extlinux', 'extlinux.conf'), extlinuxConf(boot.kernelImage, dtb, cmdline, chain));
  }

  if (bootloader) {
    // Where each goes on the card is the manifest's board.bootloader (format and install read it there).
    const dir = path.join(out, 'bootloader');
    fs.mkdirSync(dir, { recursive: true });
    bootloader.blobs.forEach((b, i) => fs.copyFileSync(bootloader.files[i]!, path.join(dir, b.file)));
  }

  const { sizeMiB, bootSizeMiB } = opts.card;
  const card = path.join(out, 'sdcard.img');
  progress.tick(`card image: ${sizeMiB} MiB, boot partition ${bootSizeMiB} MiB, persist the rest`, 0, true);
  await writeCardImage(card, { imagesDir: out, sizeMiB, bootSizeMiB, config: chain, bootMethod: opts.bootMethod, bootloader }, (line) => progress.tick(`  ${line}`, 0, true));
  return { bootloader: bootloader && { pkg: bootloader.pkg, version: bootloader.version, target: bootloader.target, blobs: bootloader.blobs, bootStart: bootloader.bootStart }, card };
}
