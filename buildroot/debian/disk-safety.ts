// The checks before a card is written, which write nothing: the wrong disk is the costly mistake.
// The target the family's variable names must be an image file or a whole, removable disk that is
// not the host's root disk and that nothing mounts, swaps on or builds on (LVM, RAID, dm-crypt).
import fs from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../../lib/errors.ts';
import { formatBytes, isDir } from './card-layout.ts';

/** Where the checks look; tests point them at a fake /proc and /sys. */
export interface DiskSeams {
  env: NodeJS.ProcessEnv;
  procMounts: string;
  procSwaps: string;
  sysDir: string;
  /** Its file system's device is the host's root disk. */
  rootPath: string;
}

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

export type Action = 'format' | 'install';

export const yes = (v: string | undefined) => v !== undefined && /^(y|yes|1|true)$/i.test(v.trim());

const readText = (p: string): string | undefined => {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
};

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
export function blockDevno(p: string): string | undefined {
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

/** What the messages say about the card: its variable and the layer whose commands write it. */
export interface Naming {
  deviceVariable: string;
  layer: string;
}

/** Finds the target the card's variable names, refusing anything it must not write. */
export function resolveTarget(card: Naming, action: Action, s: DiskSeams): Target {
  const v = card.deviceVariable;
  const given = s.env[v];
  if (!given) {
    throw new SkiffError(
      `${v} is not set: skiff does not guess which disk to ${action === 'format' ? 'erase' : 'write'}`,
      `find the SD card with \`lsblk\` and name its whole disk, e.g. ${v}=/dev/sdX skiff cmd ${card.layer}/${action} (an image file works too: truncate -s 2G card.img; ${v}=card.img)`,
    );
  }
  let real: string;
  try {
    real = fs.realpathSync(given);
  } catch {
    throw new SkiffError(`${v}=${given} does not exist`, `check the device with \`lsblk\`; for an image file create it first: truncate -s 2G ${given}`);
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

  if (hostRootDisks(s).has(disk.name)) {
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
function hostRootDisks(s: DiskSeams): Set<string> {
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
function refuseIfInUse(target: Target, v: string, s: DiskSeams): void {
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

/** The prompt may wait a while: the disk written must be the disk the person said yes to. */
export function recheckTarget(card: Naming, action: Action, before: Target, s: DiskSeams): void {
  const now = resolveTarget(card, action, s);
  const same = now.path === before.path && now.size === before.size && now.disk?.devno === before.disk?.devno && now.disk?.model === before.disk?.model;
  if (!same) throw new SkiffError(`${before.given} changed while waiting for the confirmation (a card swapped?): nothing written`, 'run the command again');
}
