// What `format` and `install` write where: the family's card facts (layer data), the folders whose
// files go onto the boot partition, the bootloader the build left in front of partition 1, and the
// partition layout for a card of a given size.
import fs from 'node:fs';
import path from 'node:path';
import { type Context, contextFromEnv } from '../layers/context.ts';
import { resolveSelection } from '../layers/workspace.ts';
import { SkiffError } from '../../lib/errors.ts';
import { type BootloaderRecord, MANIFEST_FILE, readManifest } from '../../images/manifest.ts';
import { outDir } from '../../images/paths.ts';
import { type CardFacts, cardFacts, debianSettings } from './board-facts.ts';

export const MiB = 1024 * 1024;

/** The card one run of format or install writes. */
export interface CardSpec extends CardFacts {
  /** The layer whose commands these are, for messages: `pi/common`. */
  layer: string;
  /** The selected layers, for "build it first" messages: `pi/4`. */
  config: string;
}

/** The card facts of the selected layers (SKIFF_CONFIG, or the workspace's), for `<layer>`'s commands. */
export function selectedCard(ctx: Context, layer: string): CardSpec {
  const r = resolveSelection(ctx);
  // As the user wrote it (pi/4), not the chain with its dependencies.
  const config = r.selection.config.trim();
  return { ...cardFacts(debianSettings(r), config), layer, config };
}

/** Upstream's label of the FAT boot partition, on every family's card. */
export const BOOT_LABEL = 'BOOT';

const MIN_PERSIST = 16 * MiB;
// The FAT32 minimum cluster count needs about 32 MiB; below 256 MiB FAT16 is the usual choice.
const FAT32_FROM = 256 * MiB;

export interface Layout {
  /** MBR (`dos`) on boards and BIOS PCs; GPT on UEFI PCs, whose firmware looks for an EFI system partition. */
  table: 'dos' | 'gpt';
  bootOffset: number;
  bootSize: number;
  fat32: boolean;
  bootLabel: string;
  persistOffset: number;
  persistSize: number;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * MiB) return `${(n / (1024 * MiB)).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Where a layout puts the partitions on a disk of `size` bytes. */
export function planLayout(card: CardSpec, size: number, env: NodeJS.ProcessEnv, bootOffset = MiB): Layout {
  const override = env.SKIFF_BOOT_SIZE_MIB;
  if (override !== undefined && !/^[1-9]\d*$/.test(override)) {
    throw new SkiffError(`SKIFF_BOOT_SIZE_MIB=${override} is not a whole number of MiB`, 'e.g. SKIFF_BOOT_SIZE_MIB=256');
  }
  const bootSize = (override ? Number(override) : card.bootSizeMiB) * MiB;
  // 1 MiB by default: upstream's first-partition alignment (parted 0%, genimage offset 1048576);
  // further out when the board's bootloader needs the room (Rockchip: 16 MiB).
  const persistOffset = bootOffset + bootSize;
  const table = card.bootMethod === 'efi' ? 'gpt' : 'dos';
  // GPT keeps a copy of its table in the disk's last sectors: the last MiB stays outside persist.
  const persistSize = Math.floor((size - persistOffset) / MiB) * MiB - (table === 'gpt' ? MiB : 0);
  if (persistSize < MIN_PERSIST) {
    throw new SkiffError(
      `the target holds ${formatBytes(size)}: too small for a ${formatBytes(bootSize)} boot partition and at least ${formatBytes(MIN_PERSIST)} of persist`,
      `use a larger card, or a smaller boot partition: SKIFF_BOOT_SIZE_MIB=${Math.max(8, Math.floor((size - MIN_PERSIST - MiB) / MiB / 2))}`,
    );
  }
  return { table, bootOffset, bootSize, fat32: bootSize >= FAT32_FROM, bootLabel: BOOT_LABEL, persistOffset, persistSize };
}

/** The build's image folder: SKIFF_IMAGES_DIR (set for layer commands), else the workspace's. */
export const imagesDirOf = (env: NodeJS.ProcessEnv) => env.SKIFF_IMAGES_DIR || outDir(contextFromEnv(env));

/** The bootloader a build wrote next to its boot files: blobs at fixed offsets before partition 1. */
export interface BootloaderLayout {
  bootStart: number;
  blobs: { file: string; offset: number; size: number; path: string }[];
}

/** A bootloader record (the manifest's board.bootloader) with its files in `<imagesDir>/bootloader/`. */
export function bootloaderFiles(imagesDir: string, record: Pick<BootloaderRecord, 'bootStart' | 'blobs'>): BootloaderLayout {
  const dir = path.join(imagesDir, 'bootloader');
  return {
    bootStart: record.bootStart,
    blobs: record.blobs.map((b) => {
      const p = path.join(dir, b.file);
      if (!fs.existsSync(p)) throw new SkiffError(`the build's manifest names the bootloader file ${b.file}, which is not in ${dir}`, 'build the image again: skiff compile');
      return { ...b, path: p, size: fs.statSync(p).size };
    }),
  };
}

/** The bootloader of the build in the images folder, as its manifest records it. */
export function builtBootloader(env: NodeJS.ProcessEnv): BootloaderLayout | undefined {
  const dir = imagesDirOf(env);
  // Boot files put there by hand (a Pi's, until the backend builds them) come without a manifest.
  if (!fs.existsSync(path.join(dir, MANIFEST_FILE))) return undefined;
  const record = readManifest(dir).board?.bootloader;
  return record && bootloaderFiles(dir, record);
}

export const isDir = (p: string) => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};

export interface BootFile {
  rel: string;
  size: number;
}

function listFiles(dir: string, rel = ''): BootFile[] {
  const out: BootFile[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = path.join(rel, e.name);
    const st = fs.statSync(path.join(dir, r));
    if (st.isDirectory()) out.push(...listFiles(dir, r));
    else if (st.isFile()) out.push({ rel: r, size: st.size });
  }
  return out;
}

const hasFirmware = (dir: string) => isDir(dir) && fs.readdirSync(dir).some((f) => /^start.*\.elf$/.test(f));

/**
 * The Raspberry Pi's GPU firmware (BOOT_METHOD=rpi-firmware) reads config.txt, kernel and device
 * trees from the FAT partition, next to its own files, which a build may not ship.
 */
function gpuFirmware(env: NodeJS.ProcessEnv, buildBootDir: string): { dir: string; what: string }[] {
  if (hasFirmware(buildBootDir)) return [];
  const dir = env.SKIFF_RPI_FIRMWARE_DIR;
  if (!dir) {
    throw new SkiffError(
      `SKIFF_RPI_FIRMWARE_DIR is not set, and the boot files in ${buildBootDir} do not include the Raspberry Pi GPU firmware (start*.elf)`,
      "the firmware is non-free and not on the Debian mirror: put bootcode.bin, start*.elf and fixup*.dat (e.g. from the raspberrypi/firmware repository's boot/ folder) in a folder and set SKIFF_RPI_FIRMWARE_DIR=/path/to/it (see configs/pi/common/README.md)",
    );
  }
  if (!isDir(dir)) throw new SkiffError(`SKIFF_RPI_FIRMWARE_DIR=${dir} is not a folder`, 'point it at the folder holding bootcode.bin, start*.elf and fixup*.dat');
  if (!hasFirmware(dir)) {
    throw new SkiffError(`SKIFF_RPI_FIRMWARE_DIR=${dir} holds no start*.elf`, 'it must hold the GPU firmware: start*.elf and fixup*.dat (and bootcode.bin for Pi 0-3)');
  }
  return [{ dir, what: 'GPU firmware (SKIFF_RPI_FIRMWARE_DIR)' }];
}

/** The folders whose files go onto the boot partition, in copy order (the build's own win on a clash). */
export function bootSources(card: CardSpec, env: NodeJS.ProcessEnv): { dir: string; what: string; files: BootFile[] }[] {
  const bootDir = path.join(imagesDirOf(env), 'boot');
  const files = isDir(bootDir) ? listFiles(bootDir) : [];
  if (files.length === 0) {
    throw new SkiffError(
      `no boot files in ${bootDir}`,
      // Said plainly: the debian backend does not build every board's boot files.
      `build them: SKIFF_CONFIG=${card.config} skiff configure compile (it says what is missing when the debian backend cannot build this board yet), or put the board's boot files (kernel, device trees, boot config) in ${bootDir}`,
    );
  }
  const extra = card.bootMethod === 'rpi-firmware' ? gpuFirmware(env, bootDir) : [];
  return [...extra.map((s) => ({ ...s, files: listFiles(s.dir) })), { dir: bootDir, what: 'the built image', files }];
}
