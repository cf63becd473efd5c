import { crc32 } from './crc32.ts';

export const PERSIST_FORMAT = 'skiff-persist';
export const PERSIST_VERSION = 1;

/** What the store keeps beside the chunks: enough to tell a whole disk from a damaged one. */
export interface PersistMeta {
  format: typeof PERSIST_FORMAT;
  version: number;
  size: number;
  chunkSize: number;
  /** CRC-32 of every stored chunk; chunks that are all zeros are not stored. */
  crc: Record<string, number>;
  savedAt: number;
}

/** Where chunks live: IndexedDB in the browser, a sparse file in Node. */
export interface ChunkBackend {
  readMeta(): Promise<unknown>;
  readChunk(index: number, chunkSize: number): Promise<Uint8Array | undefined>;
  /** Writes chunks and the meta that describes them, the meta last (or in the same transaction). */
  write(chunks: Map<number, Uint8Array | null>, meta: PersistMeta): Promise<void>;
  clear(): Promise<void>;
}

export type OpenResult =
  | { status: 'ok'; disk: ArrayBuffer; meta: PersistMeta }
  | { status: 'empty'; disk: ArrayBuffer }
  | { status: 'damaged'; problem: string; /** What could be read, for export before a wipe. */ salvage: ArrayBuffer };

const isZero = (b: Uint8Array) => {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
};

/**
 * The persist disk kept in chunks: only changed chunks are written, and a store that is
 * corrupt, truncated or of another version is reported as damaged, never silently replaced.
 */
export class PersistStore {
  private meta: PersistMeta;

  constructor(
    private readonly backend: ChunkBackend,
    readonly size = 64 * 1024 * 1024,
    readonly chunkSize = 64 * 1024,
  ) {
    this.meta = this.freshMeta();
  }

  private freshMeta(size = this.size): PersistMeta {
    return { format: PERSIST_FORMAT, version: PERSIST_VERSION, size, chunkSize: this.chunkSize, crc: {}, savedAt: 0 };
  }

  async open(): Promise<OpenResult> {
    const raw = await this.backend.readMeta();
    if (raw === undefined) {
      this.meta = this.freshMeta();
      return { status: 'empty', disk: new ArrayBuffer(this.size) };
    }
    const meta = raw as Partial<PersistMeta>;
    const salvageOf = async (m: Partial<PersistMeta>) => {
      const size = typeof m.size === 'number' && m.size > 0 && m.size <= 1 << 30 ? m.size : this.size;
      const chunk = typeof m.chunkSize === 'number' && m.chunkSize > 0 ? m.chunkSize : this.chunkSize;
      const disk = new Uint8Array(size);
      for (const key of Object.keys(m.crc ?? {})) {
        const bytes = await this.backend.readChunk(Number(key), chunk).catch(() => undefined);
        if (bytes) disk.set(bytes.subarray(0, Math.max(0, Math.min(chunk, size - Number(key) * chunk))), Number(key) * chunk);
      }
      return disk.buffer;
    };
    if (meta.format !== PERSIST_FORMAT || typeof meta.version !== 'number') {
      return { status: 'damaged', problem: 'the stored persist data is not in a format this playground knows', salvage: await salvageOf({}) };
    }
    if (meta.version !== PERSIST_VERSION) {
      return { status: 'damaged', problem: `the stored persist disk is format version ${meta.version}, this playground reads version ${PERSIST_VERSION}`, salvage: await salvageOf(meta) };
    }
    if (meta.chunkSize !== this.chunkSize || typeof meta.size !== 'number') {
      return { status: 'damaged', problem: `the stored persist disk uses ${meta.chunkSize}-byte chunks, expected ${this.chunkSize}`, salvage: await salvageOf(meta) };
    }
    const disk = new Uint8Array(meta.size);
    for (const [key, crc] of Object.entries(meta.crc ?? {})) {
      const index = Number(key);
      const bytes = await this.backend.readChunk(index, this.chunkSize);
      if (!bytes) return { status: 'damaged', problem: `chunk ${index} of the persist disk is missing (the store is truncated)`, salvage: await salvageOf(meta) };
      if (bytes.length !== Math.min(this.chunkSize, meta.size - index * this.chunkSize) || crc32(bytes) !== crc) {
        return { status: 'damaged', problem: `chunk ${index} of the persist disk is corrupt (checksum mismatch)`, salvage: await salvageOf(meta) };
      }
      disk.set(bytes, index * this.chunkSize);
    }
    this.meta = meta as PersistMeta;
    return { status: 'ok', disk: disk.buffer, meta: this.meta };
  }

  /** Stores the given chunks of `disk` (only those), with their checksums. */
  async save(disk: ArrayBuffer, indices: Iterable<number>): Promise<number> {
    const changed = new Map<number, Uint8Array | null>();
    const crc = { ...this.meta.crc };
    for (const i of indices) {
      const bytes = new Uint8Array(disk, i * this.chunkSize, Math.min(this.chunkSize, disk.byteLength - i * this.chunkSize)).slice();
      if (isZero(bytes)) {
        if (crc[i] !== undefined) changed.set(i, null);
        delete crc[i];
      } else {
        changed.set(i, bytes);
        crc[i] = crc32(bytes);
      }
    }
    if (changed.size === 0) return 0;
    const meta: PersistMeta = { ...this.meta, size: disk.byteLength, crc, savedAt: Date.now() };
    await this.backend.write(changed, meta);
    this.meta = meta;
    return changed.size;
  }

  /** Replaces the stored disk with `image` (an exported .img), checked first. */
  async importImage(image: ArrayBuffer): Promise<ArrayBuffer> {
    if (image.byteLength === 0 || image.byteLength % 512 !== 0 || image.byteLength > 1 << 30) {
      throw new Error(`that file is ${image.byteLength} bytes: a persist image is a whole number of 512-byte sectors, at most 1 GiB`);
    }
    await this.backend.clear();
    this.meta = this.freshMeta(image.byteLength);
    const all = Array.from({ length: Math.ceil(image.byteLength / this.chunkSize) }, (_, i) => i);
    await this.save(image, all);
    return image;
  }

  async wipe(): Promise<ArrayBuffer> {
    await this.backend.clear();
    this.meta = this.freshMeta();
    return new ArrayBuffer(this.size);
  }

  get lastSaved(): number {
    return this.meta.savedAt;
  }

  get storedBytes(): number {
    return Object.keys(this.meta.crc).length * this.chunkSize;
  }
}

/**
 * Collects which chunks the guest wrote and saves them soon after: a quiet period of `delayMs`,
 * but never later than `maxDelayMs` after the first unsaved write.
 */
export class DiskSync {
  private dirty = new Set<number>();
  private timer?: ReturnType<typeof setTimeout>;
  private firstDirtyAt = 0;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: PersistStore,
    private readonly disk: () => ArrayBuffer,
    private readonly onSaved: (chunks: number, at: number) => void = () => {},
    private readonly delayMs = 50,
    private readonly maxDelayMs = 250,
  ) {}

  /** Hook for V86Machine's onDiskWrite. */
  written = (start: number, length: number): void => {
    const cs = this.store.chunkSize;
    for (let i = Math.floor(start / cs); i <= Math.floor((start + length - 1) / cs); i++) this.dirty.add(i);
    const now = Date.now();
    if (this.timer === undefined) this.firstDirtyAt = now;
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.delayMs, this.firstDirtyAt + this.maxDelayMs - now));
    this.timer = setTimeout(() => void this.flush(), wait);
  };

  /** Saves what is dirty now; resolves when it is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const indices = [...this.dirty];
    this.dirty.clear();
    this.saving = this.saving.then(async () => {
      if (indices.length === 0) return;
      const n = await this.store.save(this.disk(), indices);
      this.onSaved(n, Date.now());
    });
    return this.saving;
  }
}
