import fs from 'node:fs';
import type { ChunkBackend, PersistMeta } from './store.ts';

/** The Node store: the disk as a sparse file, chunk checksums in `<file>.json` written last. */
export class FileBackend implements ChunkBackend {
  constructor(private readonly file: string) {}

  async readMeta(): Promise<unknown> {
    if (!fs.existsSync(`${this.file}.json`)) return undefined;
    try {
      return JSON.parse(fs.readFileSync(`${this.file}.json`, 'utf8'));
    } catch {
      return { format: 'unreadable' };
    }
  }

  async readChunk(index: number, chunkSize: number): Promise<Uint8Array | undefined> {
    if (!fs.existsSync(this.file)) return undefined;
    const fd = fs.openSync(this.file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const start = index * chunkSize;
      if (start >= size) return undefined;
      const buf = Buffer.alloc(Math.min(chunkSize, size - start));
      fs.readSync(fd, buf, 0, buf.length, start);
      return new Uint8Array(buf);
    } finally {
      fs.closeSync(fd);
    }
  }

  async write(chunks: Map<number, Uint8Array | null>, meta: PersistMeta): Promise<void> {
    const fd = fs.openSync(this.file, fs.existsSync(this.file) ? 'r+' : 'w+');
    try {
      if (fs.fstatSync(fd).size !== meta.size) fs.ftruncateSync(fd, meta.size);
      for (const [index, bytes] of chunks) {
        fs.writeSync(fd, bytes ?? new Uint8Array(Math.min(meta.chunkSize, meta.size - index * meta.chunkSize)), 0, undefined, index * meta.chunkSize);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    const tmp = `${this.file}.json.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(meta));
    fs.renameSync(tmp, `${this.file}.json`);
  }

  async clear(): Promise<void> {
    fs.rmSync(this.file, { force: true });
    fs.rmSync(`${this.file}.json`, { force: true });
  }
}
