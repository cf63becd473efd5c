// Reading card and disk images as a user would check them: the partition table through sfdisk,
// FAT partitions through mtools, ext4 by its superblock.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { mtoolsEnv } from '../../lib/mtools.ts';

export const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(cmd, args, { encoding: 'utf8', env });
export const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

export interface Partition {
  start: number;
  size: number;
  type: string;
  name?: string;
  bootable?: boolean;
}
/** The image's partition table as sfdisk reads it: label (dos, gpt) and partitions in sectors. */
export const partitionTable = (img: string) => (JSON.parse(sh('sfdisk', ['--json', img]).stdout) as { partitiontable: { label: string; partitions: Partition[] } }).partitiontable;
export const partitions = (img: string) => partitionTable(img).partitions;

/** The files of the FAT file system at `offset` bytes, with subfolders' files as a/b (hidden ones too with `hidden`). */
export const fatList = (img: string, offset: number, { hidden = false } = {}) =>
  sh('mdir', ['-/', ...(hidden ? ['-a'] : []), '-b', '-i', `${img}@@${offset}`, '::/'], mtoolsEnv())
    .stdout.split('\n')
    .filter((l) => l && !l.endsWith('/'))
    .map((l) => l.replace(/^::\//, ''))
    .sort();
export const fatFile = (img: string, offset: number, file: string) => sh('mtype', ['-i', `${img}@@${offset}`, `::/${file}`], mtoolsEnv()).stdout;
export const fatBytes = (img: string, offset: number, file: string) =>
  spawnSync('mcopy', ['-n', '-i', `${img}@@${offset}`, `::/${file}`, '-'], { env: mtoolsEnv(), maxBuffer: 64 << 20 }).stdout;

export function readAt(file: string, offset: number, size: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size);
    fs.readSync(fd, buf, 0, size, offset);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/** An ext4 superblock sits 1024 bytes in: magic 0xEF53 at 56, the volume label at 120. */
export function ext4Label(img: string, offset: number): string | undefined {
  const sb = readAt(img, offset + 1024, 1024);
  if (sb.readUInt16LE(56) !== 0xef53) return undefined;
  return sb.subarray(120, 136).toString('latin1').replace(/\0+$/, '');
}
