// Writing a card (a block device or an image file) without mounting anything and without loop
// devices: the MBR table with sfdisk, FAT with mtools, ext4 and files on it with e2fsprogs
// (mke2fs, debugfs, e2fsck), and the bootloader blobs at their offsets.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SkiffError } from '../../lib/errors.ts';
import { type BootloaderLayout, formatBytes, type Layout, MiB } from './card-layout.ts';
import { blockDevno, type Target } from './disk-safety.ts';
import { mtoolsEnv } from '../../lib/mtools.ts';

/** Program paths by name, as requireHostTools found them. */
export type Tools = Record<string, string>;

/** One partition as the table on the target says. */
export interface PartitionSpan {
  number: number;
  offset: number;
  size: number;
  type: string;
  /** The kernel's node for a block device (/dev/sdb1, /dev/mmcblk0p1); undefined for an image file. */
  node?: string;
}

/** A file to write onto persist: host path, path inside persist. */
export interface PersistFile {
  from: string;
  to: string;
}

/** MBR partition types that hold a FAT file system. */
export const FAT_TYPES = new Set(['1', '4', '6', 'b', 'c', 'e']);

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

/** How mtools addresses a FAT partition: its node, or the image file at a byte offset. */
export const mtoolsImage = (target: Target, part: PartitionSpan) => (part.node ? part.node : `${target.path}@@${part.offset}`);
/** How e2fsprogs addresses an ext4 partition inside an image file. */
export const e2fsImage = (file: string, offset: number) => `${file}?offset=${offset}`;
/** How debugfs and e2fsck reach a persist partition: its device node, or the image file at its offset. */
export const persistDevice = (target: Target, persist: PartitionSpan) => persist.node ?? e2fsImage(target.path, persist.offset);

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

/** Whether partition 1 holds a FAT file system mtools can read (true when minfo is not installed). */
export function holdsFat(target: Target, boot: PartitionSpan, tools: Tools, env: NodeJS.ProcessEnv): boolean {
  return !tools.minfo || spawnSync(tools.minfo, ['-i', mtoolsImage(target, boot), '::'], { env: mtoolsEnv(env), encoding: 'utf8' }).status === 0;
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

/**
 * sfdisk's script for the two-partition table of `layout`. MBR: a bootable FAT partition (the BIOS
 * boot code and U-Boot's distro boot look for the flag). GPT: an EFI system partition (type U) and
 * a Linux one, named as their file systems are labelled.
 */
export function tableScript(layout: Layout): string {
  // Sizes with units, so a disk with 4 KiB sectors gets the same byte layout.
  const at = (offset: number, size: number) => `start=${offset / MiB}MiB, size=${size / MiB}MiB`;
  const parts =
    layout.table === 'gpt'
      ? [`${at(layout.bootOffset, layout.bootSize)}, type=U, name=${layout.bootLabel}`, `${at(layout.persistOffset, layout.persistSize)}, type=L, name=persist`]
      : [`${at(layout.bootOffset, layout.bootSize)}, type=${layout.fat32 ? 'c' : 'e'}, bootable`, `${at(layout.persistOffset, layout.persistSize)}, type=83`];
  return [`label: ${layout.table}`, '', ...parts, ''].join('\n');
}

/** Writes the two-partition table of `layout`; returns boot and persist as the table now says. */
export function writeTable(target: Target, layout: Layout, tools: Tools, log: (line: string) => void): [PartitionSpan, PartitionSpan] {
  const script = tableScript(layout);
  const args = ['--wipe', 'always', '--wipe-partitions', 'always', '-q'];
  // An image file has no kernel partitions to re-read.
  if (target.kind === 'file') args.push('--no-reread', '--no-tell-kernel');
  log(`writing the partition table to ${target.given}`);
  tool(tools.sfdisk!, [...args, target.path], { input: script });
  const parts = readPartitions(target, tools.sfdisk!);
  const boot = parts?.find((x) => x.number === 1);
  const persist = parts?.find((x) => x.number === 2);
  if (!boot || !persist || boot.offset !== layout.bootOffset || persist.offset !== layout.persistOffset) {
    throw new SkiffError(`the partition table sfdisk wrote to ${target.given} is not the one asked for`, 'run format again; if it persists, report the output of `sfdisk --dump`');
  }
  if (target.kind === 'block') waitForNodes([boot, persist], target);
  return [boot, persist];
}

export function makeFat(target: Target, boot: PartitionSpan, layout: Layout, tools: Tools, env: NodeJS.ProcessEnv, log: (line: string) => void): void {
  log(`formatting partition 1: ${layout.fat32 ? 'FAT32' : 'FAT16'} "${layout.bootLabel}", ${formatBytes(boot.size)}`);
  const args = ['-i', mtoolsImage(target, boot), '-T', String(boot.size / 512), '-H', String(boot.offset / 512), '-h', '64', '-s', '32', '-v', layout.bootLabel];
  if (layout.fat32) args.push('-F');
  tool(tools.mformat!, [...args, '::'], { env: mtoolsEnv(env) });
}

export function makePersist(target: Target, persist: PartitionSpan, tools: Tools, log: (line: string) => void): void {
  log(`formatting partition 2: ext4 "persist", ${formatBytes(persist.size)}`);
  // ^64bit as upstream: older U-Boot ext4 readers do not know it.
  const args = ['-F', '-q', '-t', 'ext4', '-L', 'persist', '-O', '^64bit'];
  if (persist.node) {
    tool(tools.mke2fs!, [...args, persist.node]);
  } else {
    // nodiscard: a discard on an image file would punch holes relative to the file, not the partition.
    tool(tools.mke2fs!, [...args, '-E', `offset=${persist.offset},nodiscard`, target.path, `${persist.size / 1024}k`]);
  }
}

/** debugfs's answer to one read-only request (stdout; its complaints go to stderr). */
export function debugfsRead(debugfs: string, device: string, request: string): string {
  return spawnSync(debugfs, ['-R', request, device], { encoding: 'utf8', maxBuffer: 16 * MiB }).stdout ?? '';
}

/** Whether persist holds a file or folder at `rel` (debugfs's stat answers with its inode). */
export function debugfsHas(debugfs: string, device: string, rel: string): boolean {
  return /^Inode:/m.test(debugfsRead(debugfs, device, `stat /${rel}`));
}

/**
 * Writes files into an ext4 persist with debugfs (in place, no mount); folders are made as needed,
 * and `replaces` (files the new ones take the place of) are removed first.
 */
export function writeIntoPersist(target: Target, persist: PartitionSpan, files: PersistFile[], tools: Tools, log: (line: string) => void, replaces: string[] = []): void {
  const device = persistDevice(target, persist);
  log(`writing ${files.map((f) => f.to).join(', ')} to partition 2`);
  const dirs = new Set<string>();
  for (const f of files) for (let d = path.posix.dirname(f.to); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
  // On a used persist the folders are there already (debugfs would complain about each).
  const mkdirs = [...dirs].sort().filter((d) => !debugfsHas(tools.debugfs!, device, d));
  const script = [...replaces.map((f) => `rm /${f}`), ...mkdirs.map((d) => `mkdir ${d}`), ...files.map((f) => `write ${f.from} ${f.to}`)].join('\n') + '\n';
  const r = spawnSync(tools.debugfs!, ['-w', '-f', '-', device], { input: script, encoding: 'utf8' });
  // debugfs reports a failed command in its output and still exits 0.
  const bad = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => /error|could not|no free space|not found/i.test(l));
  if (r.status !== 0 || bad.length) throw new SkiffError(`writing onto persist with debugfs failed: ${bad.join('; ') || `exit ${r.status}`}`, 'use a larger card');
}

/** Copies each source folder's files onto partition 1, in order, so a later folder's file wins. */
export function copyBootFiles(target: Target, boot: PartitionSpan, sources: { dir: string; files: unknown[] }[], tools: Tools, env: NodeJS.ProcessEnv, log: (line: string) => void): void {
  const image = mtoolsImage(target, boot);
  for (const src of sources) {
    const top = fs.readdirSync(src.dir).sort().map((n) => path.join(src.dir, n));
    if (top.length === 0) continue;
    log(`copying ${src.files.length} file(s) from ${src.dir} to partition 1`);
    // -s: recurse into folders (overlays/); -o: overwrite what an earlier install left; -Q: stop at the first error.
    tool(tools.mcopy!, ['-s', '-o', '-Q', '-i', image, ...top, '::/'], { env: mtoolsEnv(env) });
  }
}

/** The boot ROM reads these at fixed offsets in front of partition 1 (as `dd conv=notrunc seek=` would). */
export function writeBootloader(target: Target, bootloader: BootloaderLayout | undefined, log: (line: string) => void): void {
  const blobs = bootloader?.blobs ?? [];
  if (blobs.length === 0) return;
  const fd = fs.openSync(target.path, 'r+');
  try {
    for (const b of blobs) {
      log(`writing ${b.file} at ${formatBytes(b.offset)}`);
      const data = fs.readFileSync(b.path);
      let done = 0;
      while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, b.offset + done);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export function flush(target: Target): void {
  const fd = fs.openSync(target.path, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
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

/**
 * Replays persist's journal (e2fsck -p), as the board's boot would, before debugfs writes into it.
 * e2fsck loses an image file's ?offset= when it reopens the file to recover, so inside an image
 * file the partition is checked as a copy and written back.
 */
export function replayJournal(target: Target, persist: PartitionSpan, tools: Tools, log: (line: string) => void): void {
  log('replaying the journal of partition 2 (e2fsck -p)');
  const check = (device: string) => {
    const r = spawnSync(tools.e2fsck!, ['-p', device], { encoding: 'utf8' });
    // 0: clean, 1: fixed. Anything else is left to the board's own check at boot.
    if (r.status !== 0 && r.status !== 1) throw new SkiffError(`e2fsck -p on partition 2 exited ${r.status}: ${`${r.stdout}${r.stderr}`.trim().split('\n').pop()}; nothing written`, 'boot the board once (its boot checks persist), then install again');
  };
  if (persist.node) return check(persist.node);
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-persist-')), 'persist.img');
  try {
    copyRange(target.path, persist.offset, tmp, 0, persist.size);
    check(tmp);
    copyRange(tmp, 0, target.path, persist.offset, persist.size);
  } finally {
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  }
}
