// A PC's disk image (BOOT_METHOD=efi or bios), laid out as the boards' cards are (card-layout.ts):
// a FAT boot partition "BOOT" holding the kernel, the initramfs and what starts them, then ext4
// "persist". UEFI machines get a GPT whose boot partition is the EFI system partition, with rEFInd
// (Debian's refind) as the removable-media loader EFI/BOOT/BOOT<arch>.EFI; BIOS machines get an MBR
// with syslinux's boot code, and ldlinux on the FAT partition.
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../layers/context.ts';
import { SkiffError } from '../../lib/errors.ts';
import type { ArchInfo } from './arch.ts';
import { lockedBootPackage, parseSize, unpackBootPackage } from './bootloader.ts';
import { MiB } from './card-layout.ts';
import { writeCardImage } from './flash.ts';
import type { Progress } from './progress.ts';
import { run } from './run.ts';

export const PC_BOOT_METHODS = new Set(['efi', 'bios']);

/** Debian's rEFInd, and where its loader is inside the package. */
export const REFIND = { pkg: 'refind', dir: 'usr/share/refind/refind' };
/** UEFI's names for an architecture: the loader's suffix and the removable-media path's. */
const EFI_ARCH: Record<string, string> = { amd64: 'x64', i386: 'ia32', arm64: 'aa64' };
/** Syslinux's MBR boot code (syslinux-common): it starts the active partition's boot sector. */
export const SYSLINUX_MBR = '/usr/lib/syslinux/mbr/mbr.bin';

export interface PcDiskPlan {
  firmware: 'efi' | 'bios';
  sizeMiB: number;
  bootSizeMiB: number;
  cmdline: string;
  /** Also a VirtualBox disk (DISK_IMAGE_VDI=yes): disk.vdi, converted by qemu-img. */
  vdi: boolean;
}

/**
 * What the disk image of a PC will be, checked before the kernel is built: the sizes
 * (CARD_IMAGE_SIZE, CARD_BOOT_SIZE, as on the boards' cards), the kernel arguments
 * (KERNEL_CMDLINE) and whether a .vdi goes with it (DISK_IMAGE_VDI).
 */
export function planPcDisk(settings: Record<string, string>, chain: string, defaultSize = '256M'): PcDiskPlan {
  const firmware = settings.BOOT_METHOD as 'efi' | 'bios';
  if (firmware === 'efi' && !EFI_ARCH[settings.ARCH ?? '']) throw new SkiffError(`${chain} boots with UEFI on ${settings.ARCH}, which has no EFI loader name`, `UEFI machines are ${Object.keys(EFI_ARCH).join(', ')}`);
  if (firmware === 'bios' && settings.ARCH !== 'amd64' && settings.ARCH !== 'i386') throw new SkiffError(`${chain} boots with a PC BIOS but is ${settings.ARCH}`, 'BOOT_METHOD=bios is for amd64 and i386 machines');
  const sizeMiB = parseSize(settings.CARD_IMAGE_SIZE ?? defaultSize, 'CARD_IMAGE_SIZE') / MiB;
  const bootSizeMiB = parseSize(settings.CARD_BOOT_SIZE ?? '64M', 'CARD_BOOT_SIZE') / MiB;
  if (!Number.isInteger(sizeMiB) || !Number.isInteger(bootSizeMiB) || bootSizeMiB < 8) {
    throw new SkiffError(`CARD_IMAGE_SIZE=${settings.CARD_IMAGE_SIZE ?? defaultSize} and CARD_BOOT_SIZE=${settings.CARD_BOOT_SIZE ?? '64M'} must be whole MiB, the boot partition at least 8M`, 'e.g. CARD_IMAGE_SIZE=512M CARD_BOOT_SIZE=64M');
  }
  // 1 MiB in front of the boot partition, and for GPT 1 MiB behind persist for the table's copy.
  if (1 + bootSizeMiB + 16 + 1 > sizeMiB) {
    throw new SkiffError(`CARD_BOOT_SIZE=${bootSizeMiB}M does not fit a ${sizeMiB} MiB disk image with 16 MiB of persist`, 'make CARD_BOOT_SIZE smaller or CARD_IMAGE_SIZE larger');
  }
  const vdi = settings.DISK_IMAGE_VDI ?? 'no';
  if (vdi !== 'yes' && vdi !== 'no') throw new SkiffError(`DISK_IMAGE_VDI=${vdi} is neither yes nor no`, 'DISK_IMAGE_VDI=yes also writes disk.vdi for VirtualBox');
  return { firmware, sizeMiB, bootSizeMiB, cmdline: settings.KERNEL_CMDLINE ?? '', vdi: vdi === 'yes' };
}

/** rEFInd's configuration: our one entry, started at once; text mode, so a serial console shows it too. */
export function refindConf(kernel: string, cmdline: string, chain: string): string {
  return [
    `# SkiffOS for ${chain}, written by skiff compile.`,
    // -1: boot the default entry at once; a key held down at start shows the menu instead.
    'timeout -1',
    'textonly',
    'scanfor manual',
    'menuentry SkiffOS {',
    `    loader /${kernel}`,
    // rEFInd passes it as initrd=, which the kernel's EFI stub loads from this partition.
    '    initrd /initramfs.cpio.zst',
    ...(cmdline ? [`    options "${cmdline}"`] : []),
    '}',
    '',
  ].join('\n');
}

/** syslinux.cfg: one entry, booted at once, its prompt on the first serial port too (headless PCs). */
export function syslinuxCfg(kernel: string, cmdline: string, chain: string): string {
  return [
    `# SkiffOS for ${chain}, written by skiff compile.`,
    'SERIAL 0 115200',
    'DEFAULT skiff',
    'PROMPT 0',
    'TIMEOUT 0',
    'LABEL skiff',
    `  LINUX /${kernel}`,
    '  INITRD /initramfs.cpio.zst',
    ...(cmdline ? [`  APPEND ${cmdline}`] : []),
    '',
  ].join('\n');
}

/** The UEFI loader: rEFInd from Debian's package for the machine's architecture, pinned in the lock file. */
export interface EfiLoader {
  pkg: string;
  version: string;
  /** refind_<arch>.efi, and the name it takes on the ESP (BOOTX64.EFI). */
  file: string;
  bootName: string;
}

/** Downloads (or reuses) Debian's refind for `arch`; fetched before the kernel, like a board's U-Boot. */
export async function fetchEfiLoader(ctx: Context, arch: ArchInfo, progress: Progress): Promise<EfiLoader> {
  const efiArch = EFI_ARCH[arch.debian]!;
  const locked = await lockedBootPackage(ctx, arch.debian, REFIND.pkg, progress);
  const file = path.join(await unpackBootPackage(ctx, locked, progress), REFIND.dir, `refind_${efiArch}.efi`);
  if (!fs.existsSync(file)) throw new SkiffError(`Debian's ${REFIND.pkg} ${locked.version} (${arch.debian}) has no ${path.basename(file)}`, 'run skiff lock --update to take another version');
  return { pkg: REFIND.pkg, version: locked.version, file, bootName: `BOOT${efiArch.toUpperCase()}.EFI` };
}

export interface PcBoot {
  kernelImage: string;
  kernelFile: string;
  initramfs: Buffer;
}

/** The host's syslinux (its installer and MBR code go onto the image), for the manifest. */
async function syslinuxVersion(): Promise<string> {
  return (await run('dpkg-query', ['-W', '-f=${Version}', 'syslinux-common'])).trim();
}

/**
 * Writes boot/ (what the boot partition holds), disk.img and, when asked, disk.vdi into `out`.
 * Returns what the manifest records: the image files, the loader and the host files taken.
 */
export async function writePcDisk(
  opts: { out: string; chain: string; boot: PcBoot; disk: PcDiskPlan; loader?: EfiLoader },
  progress: Progress,
): Promise<{ card: string; vdi?: string; loader: { pkg: string; version: string }; hostFiles: Record<string, string> }> {
  const { out, chain, boot, disk } = opts;
  const bootDir = path.join(out, 'boot');
  fs.mkdirSync(bootDir, { recursive: true });
  fs.copyFileSync(boot.kernelFile, path.join(bootDir, boot.kernelImage));
  fs.writeFileSync(path.join(bootDir, 'initramfs.cpio.zst'), boot.initramfs);
  let loader: { pkg: string; version: string };
  const hostFiles: Record<string, string> = {};
  if (disk.firmware === 'efi') {
    if (!opts.loader) throw new SkiffError('internal: a UEFI disk image without its loader');
    const efiBoot = path.join(bootDir, 'EFI', 'BOOT');
    fs.mkdirSync(efiBoot, { recursive: true });
    // The removable-media path: the firmware starts it without a boot entry in its NVRAM.
    fs.copyFileSync(opts.loader.file, path.join(efiBoot, opts.loader.bootName));
    fs.writeFileSync(path.join(efiBoot, 'refind.conf'), refindConf(boot.kernelImage, disk.cmdline, chain));
    loader = { pkg: opts.loader.pkg, version: opts.loader.version };
  } else {
    fs.writeFileSync(path.join(bootDir, 'syslinux.cfg'), syslinuxCfg(boot.kernelImage, disk.cmdline, chain));
    const version = await syslinuxVersion();
    loader = { pkg: 'syslinux', version };
    hostFiles['mbr.bin'] = `${SYSLINUX_MBR} (syslinux-common ${version}), at the start of disk.img`;
  }

  const card = path.join(out, 'disk.img');
  const table = disk.firmware === 'efi' ? 'GPT, EFI system partition' : 'MBR';
  progress.tick(`disk image: ${disk.sizeMiB} MiB, ${table} ${disk.bootSizeMiB} MiB, persist the rest`, 0, true);
  const log = (line: string) => progress.tick(`  ${line}`, 0, true);
  await writeCardImage(card, { imagesDir: out, sizeMiB: disk.sizeMiB, bootSizeMiB: disk.bootSizeMiB, config: chain, bootMethod: disk.firmware }, log);
  if (disk.firmware === 'bios') {
    // syslinux (not extlinux, which needs the file system mounted) writes ldlinux.sys and its boot
    // sector through mtools, into the FAT partition at its offset in the image file.
    log('installing syslinux on partition 1');
    await run('syslinux', ['--offset', String(MiB), '--install', card]);
    const mbr = fs.readFileSync(SYSLINUX_MBR);
    if (mbr.length > 440) throw new SkiffError(`${SYSLINUX_MBR} is ${mbr.length} bytes, more than the MBR's 440 of boot code`, 'reinstall syslinux-common');
    const fd = fs.openSync(card, 'r+');
    try {
      // Bytes 0-439 only: the partition table behind them stays.
      fs.writeSync(fd, mbr, 0, mbr.length, 0);
    } finally {
      fs.closeSync(fd);
    }
  }
  let vdi: string | undefined;
  if (disk.vdi) {
    vdi = path.join(out, 'disk.vdi');
    log('converting to disk.vdi (qemu-img) for VirtualBox');
    await run('qemu-img', ['convert', '-O', 'vdi', card, vdi]);
  }
  return { card, vdi, loader, hostFiles };
}
