import fs from 'node:fs';

export interface ElfInfo {
  machine: number;
  interpreter?: string;
  needed: string[];
}

/**
 * Reads the few things the rootfs assembly needs from an ELF file: its machine, its program
 * interpreter and its DT_NEEDED libraries. Returns undefined for anything that is not ELF.
 */
export function readElf(file: string): ElfInfo | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(64);
    if (fs.readSync(fd, head, 0, 64, 0) < 52 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const buf = fs.readFileSync(file);
    const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const word = (o: number) => (is64 ? Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)) : u32(o));
    const machine = u16(0x12);
    const phoff = word(is64 ? 0x20 : 0x1c);
    const phentsize = u16(is64 ? 0x36 : 0x2a);
    const phnum = u16(is64 ? 0x38 : 0x2c);
    const loads: { vaddr: number; offset: number; filesz: number }[] = [];
    let interpreter: string | undefined;
    let dynamic: { offset: number; size: number } | undefined;
    for (let i = 0; i < phnum; i++) {
      const p = phoff + i * phentsize;
      const type = u32(p);
      const offset = word(p + (is64 ? 0x08 : 0x04));
      const vaddr = word(p + (is64 ? 0x10 : 0x08));
      const filesz = word(p + (is64 ? 0x20 : 0x10));
      if (type === 1) loads.push({ vaddr, offset, filesz });
      if (type === 2) dynamic = { offset, size: filesz };
      if (type === 3) interpreter = buf.toString('latin1', offset, offset + filesz).replace(/\0.*$/s, '');
    }
    const needed: string[] = [];
    if (dynamic) {
      const entry = is64 ? 16 : 8;
      const tags: [number, number][] = [];
      for (let o = dynamic.offset; o + entry <= dynamic.offset + dynamic.size; o += entry) {
        const tag = word(o);
        if (tag === 0) break;
        tags.push([tag, word(o + entry / 2)]);
      }
      const strtabAddr = tags.find(([t]) => t === 5)?.[1];
      const seg = loads.find((l) => strtabAddr !== undefined && strtabAddr >= l.vaddr && strtabAddr < l.vaddr + l.filesz);
      if (strtabAddr !== undefined && seg) {
        const strtab = seg.offset + (strtabAddr - seg.vaddr);
        for (const [tag, val] of tags) {
          if (tag !== 1) continue;
          const start = strtab + val;
          needed.push(buf.toString('latin1', start, buf.indexOf(0, start)));
        }
      }
    }
    return { machine, interpreter, needed };
  } finally {
    fs.closeSync(fd);
  }
}
