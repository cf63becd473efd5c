import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { MachineImage } from './machine.ts';

const toArrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** Loads a built browser/v86 image (images/out/<workspace>/) from disk. */
export function loadImageDir(dir: string): MachineImage {
  const read = (name: string) => {
    const p = path.join(dir, name);
    if (!fs.existsSync(p)) throw new Error(`${p} is missing: build the image first (SKIFF_CONFIG=browser/v86 npx skiff configure compile)`);
    return toArrayBuffer(fs.readFileSync(p));
  };
  const coreFs = path.join(dir, 'core', 'fs.json');
  return {
    bios: read('seabios.bin'),
    vgaBios: read('vgabios.bin'),
    kernel: read('bzImage'),
    initrd: read('initramfs.cpio.zst'),
    ...(fs.existsSync(coreFs) ? { coreFs: { basefs: coreFs, baseurl: path.join(dir, 'core', 'flat') + path.sep } } : {}),
  };
}

/** v86.wasm from the installed npm package. */
export function nodeWasmPath(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('v86')), 'v86.wasm');
}
