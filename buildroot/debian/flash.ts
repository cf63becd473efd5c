// Board `format` and `install`: writing an SD card (or an image file) with upstream's layout, a FAT
// boot partition and an ext4 `persist` partition, without mounting anything and without loop devices.
// The checks come first and write nothing: the wrong disk is the costly mistake here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { contextFromEnv } from '../layers/context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { outDir } from '../../images/paths.ts';

const MiB = 1024 * 1024;

/** What differs between board families; the checks, layout and writing are shared. */
export interface FlashProfile {
  /** Family name as the entry takes it: `pi`. */
  board: string;
  /** The layer declaring the commands, for messages: `pi/common`. */
  layer: string;
  /** Upstream's variable naming the card (PI_SD; upstream also has ODROID_SD, PINE64_SD, BEAGLEBONE_SD, ALLWINNER_SD). */
  deviceVariable: string;
  /** A board layer to name in "build it first" messages. */
  exampleConfig: string;
  /** Boot partition size when SKIFF_BOOT_SIZE_MIB does not say otherwise. */
  bootSizeMiB: number;
  bootLabel: string;
  /** Folders copied to the boot partition before the build's own boot files (which win on a clash). */
  bootSources(env: NodeJS.ProcessEnv, buildBootDir: string): { dir: string; what: string }[];
}

/** Raspberry Pi: the GPU firmware reads config.txt, kernel and device trees from the FAT partition. */
export const PI: FlashProfile = {
  board: 'pi',
  layer: 'pi/common',
  deviceVariable: 'PI_SD',
  exampleConfig: 'pi/4',
  // Upstream's two-partition families make boot 1G (pi/common itself reserves 1.4G before a rootfs partition).
  bootSizeMiB: 1024,
  bootLabel: 'BOOT',
  bootSources(env, buildBootDir) {
    // A build that already ships the GPU firmware needs no separate folder.
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
  },
};

/**
 * Families booted by U-Boot from Debian's packages: the build's boot/ folder is complete, and its
 * bootloader/ folder says which blobs go before the first partition.
 */
function ubootFamily(board: string, exampleConfig: string): FlashProfile {
  return {
    board,
    layer: `${board}/common`,
    deviceVariable: `${board.toUpperCase()}_SD`,
    exampleConfig,
    bootSizeMiB: 1024,
    bootLabel: 'BOOT',
    bootSources: () => [],
  };
}

export const PROFILES: Record<string, FlashProfile> = {
  pi: PI,
  orangepi: ubootFamily('orangepi', 'orangepi/zero'),
  bananapi: ubootFamily('bananapi', 'bananapi/m1'),
  pine64: ubootFamily('pine64', 'pine64/rock64'),
};

/** The bootloader a build wrote next to its boot files: blobs at fixed offsets before partition 1. */
export interface BootloaderLayout {
  bootStart: number;
  blobs: { file: string; offset: number; size: number; path: string }[];
}

export function bootloaderLayout(env: NodeJS.ProcessEnv): BootloaderLayout | undefined {
  const dir = path.join(imagesDirOf(env), 'bootloader');
  const file = path.join(dir, 'layout.json');
  if (!fs.existsSync(file)) return undefined;
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { bootStart: number; blobs: { file: string; offset: number }[] };
  return {
    bootStart: raw.bootStart,
    blobs: raw.blobs.map((b) => {
      const p = path.join(dir, b.file);
      if (!fs.existsSync(p)) throw new SkiffError(`${file} names ${b.file}, which is not in ${dir}`, 'build the image again: skiff compile');
      return { ...b, path: p, size: fs.statSync(p).size };
    }),
  };
}

const imagesDirOf = (env: NodeJS.ProcessEnv) => env.SKIFF_IMAGES_DIR || outDir(contextFromEnv(env));

function hasFirmware(dir: string): boolean {
  return isDir(dir) && fs.readdirSync(dir).some((f) => /^start.*\.elf$/.test(f));
}

export interface FlashOptions {
  env?: NodeJS.ProcessEnv;
  /** Test seams; the defaults are the running system's. */
  procMounts?: string;
  procSwaps?: string;
  sysDir?: string;
  /** Its file system's device is the host's root disk. */
  rootPath?: string;
  /** Whether a person can answer; defaults to stdin being a terminal. */
  interactive?: boolean;
  /** Asks y/N; defaults to a prompt on the terminal. */
  confirm?: (question: string) => Promise<boolean>;
  log?: (line: string) => void;
}

type Action = 'format' | 'install';

/** A block device's facts from sysfs. */
export interface BlockDisk {
  name: string;
  devno: string;
  dir: string;
  removable: boolean;
  /** An SD card in a built-in reader reports removable=0, yet is what we are meant to write. */
  sdCard: boolean;
  model?: string;
  partitions: { name: string; devno: string; number: number; dir: string }[];
}

export interface Target {
  /** As the variable gave it. */
  given: string;
  /** With symlinks (/dev/disk/by-id/...) resolved. */
  path: string;
  kind: 'block' | 'file';
  size: number;
  disk?: BlockDisk;
}

/** One partition as the table on the target says. */
export interface PartitionSpan {
  number: number;
  offset: number;
  size: number;
  type: string;
  /** The kernel's node for a block device (/dev/sdb1, /dev/mmcblk0p1); undefined for an image file. */
  node?: string;
}

export interface Layout {
  bootOffset: number;
  bootSize: number;
  fat32: boolean;
  bootLabel: string;
  persistOffset: number;
  persistSize: number;
}

const MIN_PERSIST = 16 * MiB;
// The FAT32 minimum cluster count needs about 32 MiB; below 256 MiB FAT16 is the usual choice.
const FAT32_FROM = 256 * MiB;
const FAT_TYPES = new Set(['1', '4', '6', 'b', 'c', 'e']);

const yes = (v: string | undefined) => v !== undefined && /^(y|yes|1|true)$/i.test(v.trim());
const isDir = (p: string) => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const readText = (p: string): string | undefined => {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
};

export function formatBytes(n: number): string {
  if (n >= 1024 * MiB) return `${(n / (1024 * MiB)).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The node of partition `n` of a whole-disk node: /dev/sdb → /dev/sdb1, /dev/mmcblk0 → /dev/mmcblk0p1. */
export function partitionNode(disk: string, n: number): string {
  return /\d$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`;
}

/** `major:minor` of a device number, as sysfs writes it. */
function devnoString(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** The device number a path's node stands for, or undefined if it is not a block device. */
function blockDevno(p: string): string | undefined {
  try {
    const st = fs.statSync(p, { bigint: true });
    return st.isBlockDevice() ? devnoString(st.rdev) : undefined;
  } catch {
    return undefined;
  }
}

/** The sysfs folder of a block device number: a disk, or a partition (which has a `partition` file). */
function sysBlockDir(sysDir: string, devno: string): string | undefined {
  try {
    return fs.realpathSync(path.join(sysDir, 'dev', 'block', devno));
  } catch {
    return undefined;
  }
}

function diskFacts(diskDir: string): BlockDisk {
  const name = path.basename(diskDir);
  const partitions = fs
    .readdirSync(diskDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(diskDir, e.name, 'partition')))
    .map((e) => {
      const dir = path.join(diskDir, e.name);
      return { name: e.name, dir, devno: readText(path.join(dir, 'dev')) ?? '', number: Number(readText(path.join(dir, 'partition'))) };
    })
    .sort((a, b) => a.number - b.number);
  const model = [readText(path.join(diskDir, 'device', 'vendor')), readText(path.join(diskDir, 'device', 'model'))].filter(Boolean).join(' ');
  return {
    name,
    dir: diskDir,
    devno: readText(path.join(diskDir, 'dev')) ?? '',
    removable: readText(path.join(diskDir, 'removable')) === '1',
    sdCard: readText(path.join(diskDir, 'device', 'type')) === 'SD',
    model: model || undefined,
    partitions,
  };
}

/** The disks under a block device: itself (or its parent disk), and through `slaves/` those under LVM, RAID or dm-crypt. */
function underlyingDisks(sysDir: string, devno: string, seen = new Set<string>()): string[] {
  const dir = sysBlockDir(sysDir, devno);
  if (!dir || seen.has(dir)) return [];
  seen.add(dir);
  const slavesDir = path.join(dir, 'slaves');
  const slaves = isDir(slavesDir) ? fs.readdirSync(slavesDir) : [];
  if (slaves.length > 0) {
    return slaves.flatMap((s) => {
      const sdev = readText(path.join(slavesDir, s, 'dev'));
      return sdev ? underlyingDisks(sysDir, sdev, seen) : [];
    });
  }
  return [fs.existsSync(path.join(dir, 'partition')) ? path.basename(path.dirname(dir)) : path.basename(dir)];
}

interface MountEntry {
  source: string;
  target: string;
}

/** /proc/mounts (and /proc/swaps) escape spaces and the like as \ooo. */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

function readMounts(file: string): MountEntry[] {
  const text = fs.readFileSync(file, 'utf8');
  return text
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length >= 2 && f[0] !== '')
    .map((f) => ({ source: unescape(f[0]!), target: unescape(f[1]!) }));
}

function readSwaps(file: string): string[] {
  const text = readText(file);
  if (!text) return [];
  return text
    .split('\n')
    .slice(1)
    .map((l) => unescape(l.split(/\s+/)[0] ?? ''))
    .filter(Boolean);
}

/** A mount source's identity: its device number if it is a block device node, else its real path. */
function sourceIdentity(source: string): { devno?: string; real?: string } {
  if (!source.startsWith('/')) return {};
  try {
    const real = fs.realpathSync(source);
    return { devno: blockDevno(real), real };
  } catch {
    return {};
  }
}

interface Seams {
  env: NodeJS.ProcessEnv;
  procMounts: string;
  procSwaps: string;
  sysDir: string;
  rootPath: string;
  log: (line: string) => void;
}

function seams(opts: FlashOptions): Seams {
  return {
    env: opts.env ?? process.env,
    procMounts: opts.procMounts ?? '/proc/mounts',
    procSwaps: opts.procSwaps ?? '/proc/swaps',
    sysDir: opts.sysDir ?? '/sys',
    rootPath: opts.rootPath ?? '/',
    log: opts.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
}

/** Finds the target the profile's variable names, refusing anything it must not write. */
function resolveTarget(profile: FlashProfile, action: Action, s: Seams): Target {
  const v = profile.deviceVariable;
  const given = s.env[v];
  if (!given) {
    throw new SkiffError(
      `${v} is not set: skiff does not guess which disk to ${action === 'format' ? 'erase' : 'write'}`,
      `find the SD card with \`lsblk\` and name its whole disk, e.g. ${v}=/dev/sdX skiff cmd ${profile.layer}/${action} (an image file works too: truncate -s 2G card.img; ${v}=card.img)`,
    );
  }
  let real: string;
  try {
    real = fs.realpathSync(given);
  } catch {
    throw new SkiffError(
      `${v}=${given} does not exist`,
      `check the device with \`lsblk\`; for an image file create it first: truncate -s 2G ${given}`,
    );
  }
  const st = fs.statSync(real);
  const shown = real === given ? given : `${given} (${real})`;
  if (st.isFile()) {
    const target: Target = { given, path: real, kind: 'file', size: st.size };
    refuseIfInUse(target, v, s);
    return target;
  }
  if (!st.isBlockDevice()) {
    throw new SkiffError(`${v}=${shown} is neither a block device nor an image file`, `name the SD card's whole disk, e.g. ${v}=/dev/sdX`);
  }
  const devno = blockDevno(real)!;
  const dir = sysBlockDir(s.sysDir, devno);
  if (!dir) throw new SkiffError(`${v}=${shown}: the kernel lists no block device ${devno} in ${s.sysDir}/dev/block`, 'check the device with `lsblk`');
  if (fs.existsSync(path.join(dir, 'partition'))) {
    const parent = path.basename(path.dirname(dir));
    throw new SkiffError(`${v}=${shown} is a partition, not a whole disk`, `name the disk: ${v}=${path.join(path.dirname(real), parent)}`);
  }
  const disk = diskFacts(dir);
  const size = Number(readText(path.join(dir, 'size')) ?? '0') * 512;
  const target: Target = { given, path: real, kind: 'block', size, disk };

  const rootDisks = hostRootDisks(s);
  if (rootDisks.has(disk.name)) {
    throw new SkiffError(`${v}=${shown} is the disk holding this machine's root file system (/)`, `that is the host's own disk, never an SD card: pick the card from \`lsblk\` and set ${v} to it`);
  }
  refuseIfInUse(target, v, s);
  if (!disk.removable && !disk.sdCard && !yes(s.env.SKIFF_FORCE)) {
    throw new SkiffError(
      `${v}=${shown} (${disk.model ?? disk.name}, ${formatBytes(size)}) is not a removable disk (${path.join(dir, 'removable')} is 0)`,
      `SD cards in USB readers are removable, so this may be an internal or USB hard disk: check \`lsblk -o NAME,SIZE,MODEL,RM\`; if it really is the card, set SKIFF_FORCE=yes`,
    );
  }
  return target;
}

/** The disks holding `/`: from the root's own device number, and from the `/` line of /proc/mounts. */
function hostRootDisks(s: Seams): Set<string> {
  const disks = new Set<string>();
  try {
    const dev = fs.statSync(s.rootPath, { bigint: true }).dev;
    for (const d of underlyingDisks(s.sysDir, devnoString(dev))) disks.add(d);
  } catch {
    // An unreadable root is left to the /proc/mounts line below.
  }
  for (const m of readMounts(s.procMounts)) {
    if (m.target !== '/') continue;
    const id = sourceIdentity(m.source);
    if (id.devno) for (const d of underlyingDisks(s.sysDir, id.devno)) disks.add(d);
  }
  return disks;
}

/** Refuses a target that anything has mounted, swaps on, or builds on (LVM, RAID, dm-crypt). */
function refuseIfInUse(target: Target, v: string, s: Seams): void {
  const devnos = new Map<string, string>();
  if (target.disk) {
    const disk = target.disk;
    devnos.set(disk.devno, disk.name);
    for (const p of disk.partitions) devnos.set(p.devno, p.name);
    for (const { name, dir } of [disk, ...disk.partitions]) {
      const holdersDir = path.join(dir, 'holders');
      const holders = isDir(holdersDir) ? fs.readdirSync(holdersDir) : [];
      if (holders.length > 0) {
        throw new SkiffError(
          `${v}=${target.given}: ${name} is in use by ${holders.join(', ')} (device mapper: LVM, RAID or dm-crypt)`,
          'stop using it first (e.g. `vgchange -an`, `cryptsetup close`), or pick another disk',
        );
      }
    }
  } else {
    // An image file attached to a loop device counts as that loop device (and its partitions).
    const blockDir = path.join(s.sysDir, 'block');
    for (const loop of isDir(blockDir) ? fs.readdirSync(blockDir).filter((n) => n.startsWith('loop')) : []) {
      const backing = readText(path.join(blockDir, loop, 'loop', 'backing_file'));
      if (backing !== target.path) continue;
      const facts = diskFacts(fs.realpathSync(path.join(blockDir, loop)));
      devnos.set(facts.devno, `/dev/${facts.name}`);
      for (const p of facts.partitions) devnos.set(p.devno, `/dev/${p.name}`);
    }
  }
  for (const m of readMounts(s.procMounts)) {
    const id = sourceIdentity(m.source);
    const hit = (id.devno && devnos.get(id.devno)) || (id.real === target.path ? target.path : undefined);
    if (hit) {
      throw new SkiffError(
        `${v}=${target.given} is mounted: ${m.source}${hit !== m.source ? ` (${hit})` : ''} on ${m.target}`,
        `unmount it first: umount ${JSON.stringify(m.target)}${target.kind === 'file' ? ' (and detach its loop device: losetup -d)' : ''}`,
      );
    }
  }
  for (const swap of readSwaps(s.procSwaps)) {
    const id = sourceIdentity(swap);
    const hit = (id.devno && devnos.get(id.devno)) || (id.real === target.path ? target.path : undefined);
    if (hit) throw new SkiffError(`${v}=${target.given} is in use as swap (${swap})`, `turn it off first: swapoff ${swap}`);
  }
}

/** Where a layout puts the partitions on a disk of `size` bytes. */
export function planLayout(profile: FlashProfile, size: number, env: NodeJS.ProcessEnv, bootOffset = MiB): Layout {
  const override = env.SKIFF_BOOT_SIZE_MIB;
  if (override !== undefined && !/^[1-9]\d*$/.test(override)) {
    throw new SkiffError(`SKIFF_BOOT_SIZE_MIB=${override} is not a whole number of MiB`, 'e.g. SKIFF_BOOT_SIZE_MIB=256');
  }
  const bootSize = (override ? Number(override) : profile.bootSizeMiB) * MiB;
  // 1 MiB by default: upstream's first-partition alignment (parted 0%, genimage offset 1048576);
  // further out when the board's bootloader needs the room (Rockchip: 16 MiB).
  const persistOffset = bootOffset + bootSize;
  const persistSize = Math.floor((size - persistOffset) / MiB) * MiB;
  if (persistSize < MIN_PERSIST) {
    throw new SkiffError(
      `the target holds ${formatBytes(size)}: too small for a ${formatBytes(bootSize)} boot partition and at least ${formatBytes(MIN_PERSIST)} of persist`,
      `use a larger card, or a smaller boot partition: SKIFF_BOOT_SIZE_MIB=${Math.max(8, Math.floor((size - MIN_PERSIST - MiB) / MiB / 2))}`,
    );
  }
  return { bootOffset, bootSize, fat32: bootSize >= FAT32_FROM, bootLabel: profile.bootLabel, persistOffset, persistSize };
}

interface Tool {
  program: string;
  pkg: string;
}
const TOOLS: Record<Action, Tool[]> = {
  format: [
    { program: 'sfdisk', pkg: 'fdisk' },
    { program: 'mformat', pkg: 'mtools' },
    { program: 'mcopy', pkg: 'mtools' },
    { program: 'mke2fs', pkg: 'e2fsprogs' },
  ],
  install: [
    { program: 'sfdisk', pkg: 'fdisk' },
    { program: 'mcopy', pkg: 'mtools' },
  ],
};

function findProgram(program: string, env: NodeJS.ProcessEnv): string | undefined {
  // sbin is not on a normal user's PATH, yet sfdisk and mke2fs live there.
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = path.join(d, program);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

function requireTools(action: Action, env: NodeJS.ProcessEnv): Record<string, string> {
  const found: Record<string, string> = {};
  const missing: Tool[] = [];
  for (const t of TOOLS[action]) {
    const p = findProgram(t.program, env);
    if (p) found[t.program] = p;
    else missing.push(t);
  }
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => t.pkg))];
    throw new SkiffError(`${missing.map((t) => t.program).join(', ')} not found`, `install ${pkgs.join(', ')}: apt-get install ${pkgs.join(' ')}`);
  }
  for (const extra of ['mdir', 'minfo', 'debugfs', 'e2fsck']) {
    const p = findProgram(extra, env);
    if (p) found[extra] = p;
  }
  return found;
}

/** Runs a tool to completion; a failure names the command and its output. */
function tool(program: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(program, args, { input: opts.input, env: opts.env, encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.error) throw new SkiffError(`cannot run ${program}: ${r.error.message}`);
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new SkiffError(`${path.basename(program)} ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${out}`);
  }
  return r.stdout;
}

// mtools otherwise reads the user's ~/.mtoolsrc and rejects partitions whose size is not a whole number of "tracks".
const mtoolsEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' });

/** The partitions the target's table holds, in bytes, or undefined when it has no table. */
export function readPartitions(target: Target, sfdisk: string): PartitionSpan[] | undefined {
  const r = spawnSync(sfdisk, ['--json', target.path], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const table = (JSON.parse(r.stdout) as { partitiontable?: { sectorsize?: number; partitions?: { node: string; start: number; size: number; type: string }[] } }).partitiontable;
  if (!table?.partitions) return undefined;
  const sector = table.sectorsize ?? 512;
  return table.partitions.map((p, i) => ({
    number: Number(/(\d+)$/.exec(p.node)?.[1] ?? i + 1),
    offset: p.start * sector,
    size: p.size * sector,
    type: p.type.toLowerCase(),
    node: target.kind === 'block' ? p.node : undefined,
  }));
}

/** How mtools addresses a FAT partition: its node, or the image file at a byte offset. */
const mtoolsImage = (target: Target, part: PartitionSpan) => (part.node ? part.node : `${target.path}@@${part.offset}`);
/** How e2fsprogs addresses an ext4 partition inside an image file. */
export const e2fsImage = (file: string, offset: number) => `${file}?offset=${offset}`;

interface BootFile {
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

/** The folders whose files go onto the boot partition, in copy order. */
export function bootSources(profile: FlashProfile, env: NodeJS.ProcessEnv): { dir: string; what: string; files: BootFile[] }[] {
  const imagesDir = imagesDirOf(env);
  const bootDir = path.join(imagesDir, 'boot');
  const files = isDir(bootDir) ? listFiles(bootDir) : [];
  if (files.length === 0) {
    throw new SkiffError(
      `no boot files in ${bootDir}`,
      // Said plainly: the debian backend does not produce a board's boot files yet.
      `put the board's boot files (kernel, device trees, boot config) in ${bootDir}; the debian backend does not build them for ${profile.exampleConfig} yet (SKIFF_CONFIG=${profile.exampleConfig} skiff compile stops with what is missing)`,
    );
  }
  const extra = profile.bootSources(env, bootDir).map((s) => ({ ...s, files: listFiles(s.dir) }));
  return [...extra, { dir: bootDir, what: 'the built image', files }];
}

/** Everything a write needs, settled before anything is written. */
export interface FlashPlan {
  action: Action;
  profile: FlashProfile;
  target: Target;
  layout?: Layout;
  /** For install: the existing boot and persist partitions. */
  boot?: PartitionSpan;
  persist?: PartitionSpan;
  sources: { dir: string; what: string; files: BootFile[] }[];
  bootloader?: BootloaderLayout;
  /** Skiff Core's image files to write onto persist (see coreImageFiles): all of them for format; for install, the ones persist lacks. */
  core: PersistFile[];
  /** For install: persist's files the new image replaces, and whether its journal must be replayed before debugfs writes. */
  coreReplaces: string[];
  coreReplay: boolean;
  tools: Record<string, string>;
  summary: string;
}

/** A file `format` puts on the new persist partition: host path, path inside persist. */
export interface PersistFile {
  from: string;
  to: string;
}

/**
 * Skiff Core's image the build ships (core/*.squashfs with its .sha256): on the card's persist it is
 * as if imported, since a board has no disk to import it from; the board finishes it on first use.
 */
export function coreImageFiles(imagesDir: string): PersistFile[] {
  const dir = path.join(imagesDir, 'core');
  if (!isDir(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.squashfs') && fs.existsSync(path.join(dir, `${f}.sha256`)))
    .sort()
    .flatMap((f) => [f, `${f}.sha256`].map((name) => ({ from: path.join(dir, name), to: `skiff/core/images/${name}` })));
}

/** Runs every check and describes what would be written; writes nothing. */
export function plan(profile: FlashProfile, action: Action, opts: FlashOptions = {}): FlashPlan {
  const s = seams(opts);
  const target = resolveTarget(profile, action, s);
  const tools = requireTools(action, s.env);
  const sources = bootSources(profile, s.env);
  const bytes = sources.reduce((n, src) => n + src.files.reduce((m, f) => m + f.size, 0), 0);
  const count = sources.reduce((n, src) => n + src.files.length, 0);

  const what = target.kind === 'block' ? `${target.disk!.model ?? 'unknown model'}, ${target.disk!.removable ? 'removable' : target.disk!.sdCard ? 'SD card' : 'NOT removable (SKIFF_FORCE=yes)'}` : 'image file';
  const lines = [`${action === 'format' ? 'Format' : 'Install to'} ${target.given}${target.path !== target.given ? ` (${target.path})` : ''}: ${formatBytes(target.size)}, ${what}`];
  const current = readPartitions(target, tools.sfdisk!);
  if (current && current.length > 0) {
    lines.push(`  partitions now: ${current.map((p) => `${p.number}: ${formatBytes(p.size)} type ${p.type}`).join('; ')}`);
  } else if (target.disk && target.disk.partitions.length > 0) {
    lines.push(`  partitions now: ${target.disk.partitions.map((p) => p.name).join(', ')}`);
  }

  let layout: Layout | undefined;
  let persistLine = -1;
  let boot: PartitionSpan | undefined;
  let persist: PartitionSpan | undefined;
  const bootloader = bootloaderLayout(s.env);
  if (action === 'format') {
    layout = planLayout(profile, target.size, s.env, bootloader?.bootStart);
    lines.push(
      '  new MBR partition table:',
      `    1  boot     ${layout.fat32 ? 'FAT32' : 'FAT16'} "${layout.bootLabel}"  ${formatBytes(layout.bootSize)} at ${formatBytes(layout.bootOffset)}`,
      `    2  persist  ext4 "persist"  ${formatBytes(layout.persistSize)} at ${formatBytes(layout.persistOffset)}`,
      `  EVERYTHING on ${target.given} is erased, persist included.`,
    );
  } else {
    boot = current?.find((p) => p.number === 1);
    persist = current?.find((p) => p.number === 2);
    if (!boot || !FAT_TYPES.has(boot.type)) {
      throw new SkiffError(
        `${target.given} has no FAT boot partition 1${boot ? ` (partition 1 has type ${boot.type})` : current ? '' : ' (no partition table)'}`,
        `format it first (this erases it): ${profile.deviceVariable}=${target.given} skiff cmd ${profile.layer}/format`,
      );
    }
    if (tools.minfo && spawnSync(tools.minfo, ['-i', mtoolsImage(target, boot), '::'], { env: mtoolsEnv(s.env), encoding: 'utf8' }).status !== 0) {
      throw new SkiffError(`partition 1 of ${target.given} holds no FAT file system`, `format it first (this erases it): ${profile.deviceVariable}=${target.given} skiff cmd ${profile.layer}/format`);
    }
    const blobsEnd = Math.max(0, ...(bootloader?.blobs ?? []).map((b) => b.offset + b.size));
    if (boot.offset < blobsEnd) {
      throw new SkiffError(
        `partition 1 of ${target.given} starts at ${formatBytes(boot.offset)}, but this board's bootloader needs the card up to ${formatBytes(blobsEnd)}`,
        `format it for this board (this erases it): ${profile.deviceVariable}=${target.given} skiff cmd ${profile.layer}/format`,
      );
    }
    lines.push(`  writes partition 1 (boot, ${formatBytes(boot.size)}); ${persist ? `partition 2 (persist, ${formatBytes(persist.size)}) is not touched` : 'no other partition is touched'}`);
    persistLine = lines.length - 1;
  }
  for (const b of bootloader?.blobs ?? []) lines.push(`  bootloader: ${b.file} (${formatBytes(b.size)}) at ${formatBytes(b.offset)}, before partition 1`);
  const room = layout ? layout.bootSize : boot!.size;
  // The file system's own tables take a few percent; a near-full partition fails half-way in mcopy.
  if (bytes > room * 0.9) {
    throw new SkiffError(
      `the boot files (${formatBytes(bytes)}) do not fit the ${formatBytes(room)} boot partition`,
      action === 'format' ? 'set SKIFF_BOOT_SIZE_MIB to a larger boot partition' : `format with a larger boot partition: SKIFF_BOOT_SIZE_MIB=... skiff cmd ${profile.layer}/format`,
    );
  }
  const shipped = coreImageFiles(imagesDirOf(s.env));
  if (shipped.length && !tools.debugfs) throw new SkiffError("debugfs not found (it writes Skiff Core's image onto persist)", 'install e2fsprogs: apt-get install e2fsprogs');
  let core = shipped;
  let coreReplaces: string[] = [];
  let coreReplay = false;
  if (shipped.length && action === 'format') {
    const size = filesSize(core);
    if (size > layout!.persistSize * 0.8) throw new SkiffError(`Skiff Core's image (${formatBytes(size)}) does not fit the ${formatBytes(layout!.persistSize)} persist partition`, 'use a larger card, or a smaller boot partition (SKIFF_BOOT_SIZE_MIB)');
    lines.push(`  persist: Skiff Core's image ${core.map((f) => path.basename(f.from)).join(', ')} (${formatBytes(size)}), finished by the board on first use`);
  } else if (shipped.length && persist) {
    // An upgrade: a board has no disk to import a changed image from, so it goes onto persist now.
    ({ core, coreReplaces, coreReplay } = coreForInstall(shipped, persistDevice(target, persist), tools, profile));
    if (core.length) {
      const size = filesSize(core);
      lines[persistLine] = `  writes partition 1 (boot, ${formatBytes(boot!.size)}); on partition 2 (persist, ${formatBytes(persist.size)}) only Skiff Core's image`;
      lines.push(`  persist: Skiff Core's image changed: writes ${core.map((f) => path.basename(f.from)).join(', ')} (${formatBytes(size)}), finished by the board on first use; nothing else on persist changes`);
      if (coreReplay) lines.push("  persist: its journal is replayed first (e2fsck -p), as the board's boot would");
    } else {
      lines.push("  persist: Skiff Core's image there is this build's already");
    }
  }
  lines.push(`  boot files: ${count} (${formatBytes(bytes)})`);
  for (const src of sources) {
    const names = src.files.map((f) => f.rel);
    const shown = names.length > 12 ? [...names.slice(0, 12), `... ${names.length - 12} more`] : names;
    lines.push(`    from ${src.dir} (${src.what}): ${shown.join(', ')}`);
  }
  return { action, profile, target, layout, boot, persist, sources, bootloader, core, coreReplaces, coreReplay, tools, summary: lines.join('\n') };
}

/** How debugfs and e2fsck reach a persist partition: its device node, or the image file at its offset. */
function persistDevice(target: Target, persist: PartitionSpan): string {
  return persist.node ?? `${target.path}?offset=${persist.offset}`;
}

/** debugfs's answer to one read-only request (stdout; its complaints go to stderr). */
function debugfsRead(debugfs: string, device: string, request: string): string {
  return spawnSync(debugfs, ['-R', request, device], { encoding: 'utf8', maxBuffer: 16 * MiB }).stdout ?? '';
}

/** Whether persist holds a file or folder at `rel` (debugfs's stat answers with its inode). */
function debugfsHas(debugfs: string, device: string, rel: string): boolean {
  return /^Inode:/m.test(debugfsRead(debugfs, device, `stat /${rel}`));
}

const filesSize = (files: PersistFile[]) => files.reduce((n, f) => n + fs.statSync(f.from).size, 0);

/**
 * Which of the build's core images an existing persist lacks: an image is there when its .sha256
 * (imported, not finished yet) or its finished marker (the board finished it and deleted the
 * squashfs) names this build's sha256. The rest is written, if it fits in persist's free space.
 */
function coreForInstall(shipped: PersistFile[], device: string, tools: Record<string, string>, profile: FlashProfile): { core: PersistFile[]; coreReplaces: string[]; coreReplay: boolean } {
  const debugfs = tools.debugfs!;
  const stats = debugfsRead(debugfs, device, 'stats');
  const free = Number(/^Free blocks:\s+(\d+)/m.exec(stats)?.[1] ?? NaN) * Number(/^Block size:\s+(\d+)/m.exec(stats)?.[1] ?? NaN);
  if (!Number.isFinite(free)) throw new SkiffError(`partition 2 holds no ext4 file system debugfs can read`, `format the card (this erases persist): ${profile.deviceVariable}=... skiff cmd ${profile.layer}/format`);
  const core: PersistFile[] = [];
  const coreReplaces: string[] = [];
  for (const image of shipped.filter((f) => f.to.endsWith('.squashfs'))) {
    const sha = fs.readFileSync(`${image.from}.sha256`, 'utf8').trim();
    const base = image.to.replace(/\.squashfs$/, '');
    const onPersist = [`${image.to}.sha256`, `${base}.rootfs.finished`].map((f) => debugfsRead(debugfs, device, `cat /${f}`).trim());
    if (onPersist.includes(sha)) continue;
    const pair = shipped.filter((f) => f.to === image.to || f.to === `${image.to}.sha256`);
    core.push(...pair);
    for (const f of pair) if (debugfsHas(debugfs, device, f.to)) coreReplaces.push(f.to);
  }
  const size = filesSize(core);
  if (size > free * 0.9) {
    throw new SkiffError(`Skiff Core's new image (${formatBytes(size)}) does not fit the ${formatBytes(free)} free on persist: nothing written`, "free room on persist (the board's /mnt/persist), or format a larger card");
  }
  const coreReplay = core.length > 0 && /^Filesystem features:.*\bneeds_recovery\b/m.test(stats);
  if (coreReplay && !tools.e2fsck) throw new SkiffError("persist's journal needs replaying and e2fsck is not found", 'install e2fsprogs: apt-get install e2fsprogs');
  return { core, coreReplaces, coreReplay };
}

async function askOnTerminal(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Shows the plan and gets a yes: from SKIFF_YES, or from a person at the terminal. */
async function confirmPlan(p: FlashPlan, opts: FlashOptions, s: Seams): Promise<void> {
  s.log(p.summary);
  // SKIFF_NO_INTERACTIVE is upstream's name for the same consent.
  if (yes(s.env.SKIFF_YES) || yes(s.env.SKIFF_NO_INTERACTIVE)) return;
  const interactive = opts.interactive ?? Boolean(process.stdin.isTTY);
  if (!interactive) {
    throw new SkiffError(
      `not writing ${p.target.given}: nobody at a terminal to confirm, and SKIFF_YES is not set`,
      `run it from a terminal, or confirm up front with SKIFF_YES=yes (upstream's SKIFF_NO_INTERACTIVE=1 also works)`,
    );
  }
  const ok = await (opts.confirm ?? askOnTerminal)(`${p.action === 'format' ? 'Erase and format' : 'Write the boot files to'} ${p.target.given}? [y/N] `);
  if (!ok) throw new SkiffError(`not writing ${p.target.given}: not confirmed`, 'answer y to go ahead');
}

/** Waits for the kernel (and udev) to create the partition nodes sfdisk announced. */
function waitForNodes(parts: PartitionSpan[], target: Target): void {
  spawnSync('udevadm', ['settle', '--timeout=10']);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const missing = parts.filter((p) => p.node && !blockDevno(p.node));
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      throw new SkiffError(
        `the partition table is written, but ${missing.map((p) => p.node).join(', ')} did not appear`,
        `re-read it (partprobe ${target.path}, or unplug and replug the card) and run format again`,
      );
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

function writeTable(p: FlashPlan, s: Seams): PartitionSpan[] {
  const l = p.layout!;
  // Sizes with units, so a disk with 4 KiB sectors gets the same byte layout.
  const script = [
    'label: dos',
    '',
    `start=${l.bootOffset / MiB}MiB, size=${l.bootSize / MiB}MiB, type=${l.fat32 ? 'c' : 'e'}, bootable`,
    `start=${l.persistOffset / MiB}MiB, size=${l.persistSize / MiB}MiB, type=83`,
    '',
  ].join('\n');
  const args = ['--wipe', 'always', '--wipe-partitions', 'always', '-q'];
  // An image file has no kernel partitions to re-read.
  if (p.target.kind === 'file') args.push('--no-reread', '--no-tell-kernel');
  s.log(`writing the partition table to ${p.target.given}`);
  tool(p.tools.sfdisk!, [...args, p.target.path], { input: script });
  const parts = readPartitions(p.target, p.tools.sfdisk!);
  const boot = parts?.find((x) => x.number === 1);
  const persist = parts?.find((x) => x.number === 2);
  if (!boot || !persist || boot.offset !== l.bootOffset || persist.offset !== l.persistOffset) {
    throw new SkiffError(`the partition table sfdisk wrote to ${p.target.given} is not the one asked for`, 'run format again; if it persists, report the output of `sfdisk --dump`');
  }
  if (p.target.kind === 'block') waitForNodes([boot, persist], p.target);
  return [boot, persist];
}

function makeFat(p: FlashPlan, boot: PartitionSpan, s: Seams): void {
  const l = p.layout!;
  s.log(`formatting partition 1: ${l.fat32 ? 'FAT32' : 'FAT16'} "${l.bootLabel}", ${formatBytes(boot.size)}`);
  const args = ['-i', mtoolsImage(p.target, boot), '-T', String(boot.size / 512), '-H', String(boot.offset / 512), '-h', '64', '-s', '32', '-v', l.bootLabel];
  if (l.fat32) args.push('-F');
  tool(p.tools.mformat!, [...args, '::'], { env: mtoolsEnv(s.env) });
}

function makePersist(p: FlashPlan, persist: PartitionSpan, s: Seams): void {
  s.log(`formatting partition 2: ext4 "persist", ${formatBytes(persist.size)}`);
  // ^64bit as upstream: older U-Boot ext4 readers do not know it.
  const args = ['-F', '-q', '-t', 'ext4', '-L', 'persist', '-O', '^64bit'];
  if (persist.node) {
    tool(p.tools.mke2fs!, [...args, persist.node]);
  } else {
    // nodiscard: a discard on an image file would punch holes relative to the file, not the partition.
    tool(p.tools.mke2fs!, [...args, '-E', `offset=${persist.offset},nodiscard`, p.target.path, `${persist.size / 1024}k`]);
  }
}

/**
 * Writes files into an ext4 persist with debugfs (in place, no mount); folders are made as needed,
 * and `replaces` (files the new ones take the place of) are removed first.
 */
function writeIntoPersist(p: FlashPlan, persist: PartitionSpan, files: PersistFile[], s: Seams, replaces: string[] = []): void {
  const device = persistDevice(p.target, persist);
  s.log(`writing ${files.map((f) => f.to).join(', ')} to partition 2`);
  const dirs = new Set<string>();
  for (const f of files) for (let d = path.posix.dirname(f.to); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
  // On a used persist the folders are there already (debugfs would complain about each).
  const mkdirs = [...dirs].sort().filter((d) => !debugfsHas(p.tools.debugfs!, device, d));
  const script = [...replaces.map((f) => `rm /${f}`), ...mkdirs.map((d) => `mkdir ${d}`), ...files.map((f) => `write ${f.from} ${f.to}`)].join('\n') + '\n';
  const r = spawnSync(p.tools.debugfs!, ['-w', '-f', '-', device], { input: script, encoding: 'utf8' });
  // debugfs reports a failed command in its output and still exits 0.
  const bad = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => /error|could not|no free space|not found/i.test(l));
  if (r.status !== 0 || bad.length) throw new SkiffError(`writing onto persist with debugfs failed: ${bad.join('; ') || `exit ${r.status}`}`, 'use a larger card');
}

function copyBootFiles(p: FlashPlan, boot: PartitionSpan, s: Seams): void {
  const image = mtoolsImage(p.target, boot);
  for (const src of p.sources) {
    const top = fs.readdirSync(src.dir).sort().map((n) => path.join(src.dir, n));
    if (top.length === 0) continue;
    s.log(`copying ${src.files.length} file(s) from ${src.dir} to partition 1`);
    // -s: recurse into folders (overlays/); -o: overwrite what an earlier install left; -Q: stop at the first error.
    tool(p.tools.mcopy!, ['-s', '-o', '-Q', '-i', image, ...top, '::/'], { env: mtoolsEnv(s.env) });
  }
}

/** The boot ROM reads these at fixed offsets in front of partition 1 (as `dd conv=notrunc seek=` would). */
function writeBootloader(p: FlashPlan, s: Seams): void {
  const blobs = p.bootloader?.blobs ?? [];
  if (blobs.length === 0) return;
  const fd = fs.openSync(p.target.path, 'r+');
  try {
    for (const b of blobs) {
      s.log(`writing ${b.file} at ${formatBytes(b.offset)}`);
      const data = fs.readFileSync(b.path);
      let done = 0;
      while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, b.offset + done);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function flush(target: Target): void {
  const fd = fs.openSync(target.path, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The prompt may wait a while: the disk written must be the disk the person said yes to. */
function recheckAfterConfirm(profile: FlashProfile, action: Action, p: FlashPlan, s: Seams): void {
  const now = resolveTarget(profile, action, s);
  const same = now.path === p.target.path && now.size === p.target.size && now.disk?.devno === p.target.disk?.devno && now.disk?.model === p.target.disk?.model;
  if (!same) throw new SkiffError(`${p.target.given} changed while waiting for the confirmation (a card swapped?): nothing written`, 'run the command again');
}

/** Partition table, FAT boot, ext4 persist, then the boot files. Erases the whole target. */
export async function format(profile: FlashProfile, opts: FlashOptions = {}): Promise<void> {
  const s = seams(opts);
  const p = plan(profile, 'format', opts);
  await confirmPlan(p, opts, s);
  recheckAfterConfirm(profile, 'format', p, s);
  const [boot, persist] = writeTable(p, s);
  makeFat(p, boot!, s);
  makePersist(p, persist!, s);
  if (p.core.length) writeIntoPersist(p, persist!, p.core, s);
  // A desktop may automount the fresh partitions: check again before mtools writes behind its back.
  resolveTarget(profile, 'format', s);
  copyBootFiles(p, boot!, s);
  writeBootloader(p, s);
  flush(p.target);
  s.log(`done: ${p.target.given} is formatted and holds the boot files`);
}

/**
 * Replays persist's journal (e2fsck -p), as the board's boot would, before debugfs writes into it.
 * e2fsck loses an image file's ?offset= when it reopens the file to recover, so inside an image
 * file the partition is checked as a copy and written back.
 */
function replayJournal(p: FlashPlan, persist: PartitionSpan, s: Seams): void {
  s.log('replaying the journal of partition 2 (e2fsck -p)');
  const check = (device: string) => {
    const r = spawnSync(p.tools.e2fsck!, ['-p', device], { encoding: 'utf8' });
    // 0: clean, 1: fixed. Anything else is left to the board's own check at boot.
    if (r.status !== 0 && r.status !== 1) throw new SkiffError(`e2fsck -p on partition 2 exited ${r.status}: ${`${r.stdout}${r.stderr}`.trim().split('\n').pop()}; nothing written`, 'boot the board once (its boot checks persist), then install again');
  };
  if (persist.node) return check(persist.node);
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-persist-')), 'persist.img');
  try {
    copyRange(p.target.path, persist.offset, tmp, 0, persist.size);
    check(tmp);
    copyRange(tmp, 0, p.target.path, persist.offset, persist.size);
  } finally {
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  }
}

/** Copies `size` bytes between files at the given offsets, in chunks; the destination is not truncated. */
function copyRange(from: string, fromAt: number, to: string, toAt: number, size: number): void {
  const src = fs.openSync(from, 'r');
  const dst = fs.openSync(to, fs.existsSync(to) ? 'r+' : 'w');
  try {
    const buf = Buffer.alloc(4 * MiB);
    for (let done = 0; done < size; ) {
      const n = fs.readSync(src, buf, 0, Math.min(buf.length, size - done), fromAt + done);
      if (n === 0) throw new SkiffError(`${from} ends before its partition 2 does`, 'check the card image');
      fs.writeSync(dst, buf, 0, n, toAt + done);
      done += n;
    }
    fs.fsyncSync(dst);
  } finally {
    fs.closeSync(src);
    fs.closeSync(dst);
  }
}

/** Writes the boot files to partition 1 and the bootloader in front of it; persist is only opened to bring Skiff Core's image up to date. */
export async function install(profile: FlashProfile, opts: FlashOptions = {}): Promise<void> {
  const s = seams(opts);
  const p = plan(profile, 'install', opts);
  await confirmPlan(p, opts, s);
  recheckAfterConfirm(profile, 'install', p, s);
  if (p.core.length) {
    if (p.coreReplay) replayJournal(p, p.persist!, s);
    writeIntoPersist(p, p.persist!, p.core, s, p.coreReplaces);
  }
  copyBootFiles(p, p.boot!, s);
  writeBootloader(p, s);
  flush(p.target);
  s.log(`done: boot files installed on ${p.target.given}; ${p.core.length ? "Skiff Core's new image written to persist, nothing else there changed" : 'persist untouched'}`);
}

/**
 * A whole card as an image file (what genimage would make): the same table, file systems, boot
 * files and bootloader as `format` writes to a card, from the build in `imagesDir`.
 */
export async function writeCardImage(file: string, imagesDir: string, sizeMiB: number, bootSizeMiB: number, log: (line: string) => void): Promise<void> {
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, '');
  fs.truncateSync(file, sizeMiB * MiB);
  const profile: FlashProfile = { ...ubootFamily('image', 'the board layer'), deviceVariable: 'SKIFF_CARD_IMAGE' };
  const env = { ...process.env, SKIFF_IMAGES_DIR: imagesDir, SKIFF_CARD_IMAGE: file, SKIFF_YES: 'yes', SKIFF_BOOT_SIZE_MIB: String(bootSizeMiB) };
  await format(profile, { env, log, interactive: false });
}

const USAGE = `usage: flash-main.js <format|install> <board>

  format   erase the card: MBR table, FAT boot partition, ext4 "persist" for the rest, then install
  install  write the built boot files to the boot partition; persist is not touched
  boards:  ${Object.keys(PROFILES).join(', ')}

The card is named by the board's variable (PI_SD, ORANGEPI_SD, BANANAPI_SD, PINE64_SD=/dev/sdX,
or an image file).
SKIFF_YES=yes confirms without a prompt; SKIFF_FORCE=yes allows a non-removable disk;
SKIFF_BOOT_SIZE_MIB sets the boot partition size for format.
`;

/** The layers' `format` and `install` commands land here. */
export async function main(argv: string[], opts: FlashOptions = {}): Promise<number> {
  const [action, board] = argv;
  if (action === '--help' || action === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const profile = board ? PROFILES[board] : undefined;
    if ((action !== 'format' && action !== 'install') || !profile) {
      throw new SkiffError(`flash: expected <format|install> <board>, got "${argv.join(' ')}"`, `boards: ${Object.keys(PROFILES).join(', ')}; e.g. format pi`);
    }
    await (action === 'format' ? format : install)(profile, opts);
    return 0;
  } catch (err) {
    if (err instanceof SkiffError) {
      process.stderr.write(`skiff: error: ${err.describe()}\n`);
      return 1;
    }
    throw err;
  }
}
