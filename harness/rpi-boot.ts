// QEMU's raspi machines cannot run the Raspberry Pi's GPU firmware, so the harness takes its part:
// it reads config.txt and cmdline.txt from the card's boot partition and hands QEMU the kernel,
// initramfs and device tree they name, as the firmware would. What this leaves untested is the
// firmware itself (bootcode.bin, start*.elf) and its reading of config.txt.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../lib/errors.ts';

/** Byte offset of the first partition, from the card's MBR. */
export function firstPartitionOffset(card: string): number {
  const fd = fs.openSync(card, 'r');
  try {
    const mbr = Buffer.alloc(512);
    fs.readSync(fd, mbr, 0, 512, 0);
    if (mbr.readUInt16LE(510) !== 0xaa55) throw new SkiffError(`${card} has no MBR partition table`, 'build the card again: skiff configure compile');
    const lba = mbr.readUInt32LE(446 + 8);
    if (lba === 0) throw new SkiffError(`${card} has no first partition`, 'build the card again: skiff configure compile');
    return lba * 512;
  } finally {
    fs.closeSync(fd);
  }
}

export interface RpiBootFiles {
  kernel: string;
  initramfs?: string;
  dtb: string;
  cmdline: string;
  /** config.txt's arm_64bit=1. */
  arm64: boolean;
}

/** What the GPU firmware reads of config.txt: the kernel, the initramfs and the CPU mode. */
export function parseConfigTxt(text: string): { kernel?: string; initramfs?: string; arm64: boolean } {
  let kernel: string | undefined;
  let initramfs: string | undefined;
  let arm64 = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    let m: RegExpExecArray | null;
    if ((m = /^kernel=(\S+)$/.exec(line))) kernel = m[1];
    else if ((m = /^initramfs\s+(\S+)/.exec(line))) initramfs = m[1];
    else if ((m = /^arm_64bit=(\d+)$/.exec(line))) arm64 = m[1] !== '0';
  }
  return { kernel, initramfs, arm64 };
}

/** Copies config.txt, cmdline.txt and the files they name out of the card's boot partition into `dir`. */
export function readRpiBootFiles(card: string, dtb: string, dir: string): RpiBootFiles {
  const image = `${card}@@${firstPartitionOffset(card)}`;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };
  const take = (name: string, needed: string) => {
    const to = path.join(dir, name);
    const r = spawnSync('mcopy', ['-n', '-i', image, `::${name}`, to], { env, encoding: 'utf8' });
    if (r.error) throw new SkiffError(`cannot run mcopy: ${r.error.message}`, 'install mtools: apt-get install mtools');
    if (r.status !== 0) throw new SkiffError(`the card's boot partition has no ${name}, which ${needed}`, 'build the card again: skiff configure compile');
    return to;
  };
  const config = parseConfigTxt(fs.readFileSync(take('config.txt', 'the GPU firmware reads first'), 'utf8'));
  if (!config.kernel) throw new SkiffError("the card's config.txt names no kernel (kernel=)", 'build the card again: skiff configure compile');
  return {
    kernel: take(config.kernel, 'config.txt names as the kernel'),
    ...(config.initramfs ? { initramfs: take(config.initramfs, 'config.txt names as the initramfs') } : {}),
    dtb: take(dtb, 'QEMU_DTB names for this machine'),
    cmdline: fs.readFileSync(take('cmdline.txt', 'holds the kernel arguments'), 'utf8').trim(),
    arm64: config.arm64,
  };
}

/** QEMU's arguments for the firmware's part. */
export function rpiBootArgs(files: RpiBootFiles): string[] {
  return ['-kernel', files.kernel, ...(files.initramfs ? ['-initrd', files.initramfs] : []), '-dtb', files.dtb, '-append', files.cmdline];
}
