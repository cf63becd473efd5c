import { V86 } from 'v86';
import type { SerialPort } from './serial-port.ts';
import { fetchGunzipped } from './gunzip.ts';

/** The files a browser/v86 image consists of, as loaded bytes. */
export interface MachineImage {
  bios: ArrayBuffer;
  vgaBios: ArrayBuffer;
  kernel: ArrayBuffer;
  initrd: ArrayBuffer;
  /**
   * Skiff Core's image as v86's 9p file system (tag host9p): `basefs` is its fs.json (a path in
   * Node, a URL in the browser), `baseurl` where its files are fetched from when first read.
   */
  coreFs?: { basefs: string; baseurl: string };
}

export interface MachineOptions {
  image: MachineImage;
  /** The persist disk. It stays ours: v86 reads and writes it in place, and we are told where. */
  disk: ArrayBuffer;
  memoryMB?: number;
  /**
   * Where v86.wasm is (a path in Node, a URL in the browser). A URL ending in `.gz` is fetched
   * gzip-compressed and unpacked here, so the page downloads a fifth of it whatever the web host.
   */
  wasmPath: string;
  /** A state saved by `saveState()`, to resume from instead of booting. */
  state?: ArrayBuffer;
  /** Called with the byte range of every guest write to the persist disk. */
  onDiskWrite?: (start: number, length: number) => void;
  /**
   * Called when the guest reaches the snapshot point (before persist is mounted). The machine
   * lets the guest go on once the returned promise settles: the place to save a fast-boot state.
   */
  onSnapshotPoint?: (machine: V86Machine) => Promise<void> | void;
}

/** The marker the browser/v86 layer prints where a state may be saved. */
export const SNAPSHOT_POINT = 'SKIFF_PERSIST_WAIT';

/** v86's in-memory disk object (its SyncBuffer): we hook its writes and swap its bytes. */
interface DiskBuffer {
  buffer: ArrayBuffer;
  byteLength: number;
  set(start: number, slice: Uint8Array, done: () => void): void;
}

type Listener = (chunk: string) => void;

/**
 * One v86 PC running SkiffOS: serial console, persist disk, power, saved states. Runs in Node and
 * in a browser worker. Relies on v86 0.5.462 internals in one place (`findDiskBuffer`), which the
 * tests exercise.
 */
export class V86Machine implements SerialPort {
  readonly emulator: V86;
  private readonly listeners = new Set<Listener>();
  private pending = '';
  private flushScheduled = false;
  private stopped = false;
  private diskBuffer?: DiskBuffer;
  private lineTail = '';
  private disk: ArrayBuffer;
  readonly started: Promise<void>;
  private failLoad: (err: Error) => void = () => {};

  constructor(readonly options: MachineOptions) {
    this.disk = options.disk;
    this.emulator = new V86({
      ...(options.wasmPath.endsWith('.gz') ? { wasm_fn: (env: WebAssembly.Imports) => this.instantiateGzipWasm(options.wasmPath, env) } : { wasm_path: options.wasmPath }),
      bios: { buffer: options.image.bios },
      vga_bios: { buffer: options.image.vgaBios },
      bzimage: { buffer: options.image.kernel },
      initrd: { buffer: options.image.initrd },
      hda: { buffer: options.disk },
      ...(options.image.coreFs ? { filesystem: { basefs: options.image.coreFs.basefs, baseurl: options.image.coreFs.baseurl } } : {}),
      memory_size: (options.memoryMB ?? 128) * 1024 * 1024,
      vga_memory_size: 2 * 1024 * 1024,
      autostart: !options.state,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
    } as ConstructorParameters<typeof V86>[0]);
    this.emulator.add_listener('serial0-output-byte', (byte: number) => {
      this.pending += String.fromCharCode(byte);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
    this.started = new Promise<void>((resolve, reject) => {
      this.failLoad = reject;
      this.emulator.add_listener('emulator-loaded', () => resolve());
    }).then(async () => {
      this.hookDisk();
      if (options.state) {
        await this.restoreState(options.state);
        await this.emulator.run();
        // The restored guest waits at the snapshot point: let it go on to mount the current disk.
        this.write('\n');
      }
    });
  }

  /** v86's `wasm_fn`: the compressed wasm, unpacked by the browser's own gzip. */
  private async instantiateGzipWasm(url: string, env: WebAssembly.Imports): Promise<WebAssembly.Exports> {
    let instance: WebAssembly.Instance;
    let bytes: ArrayBuffer;
    try {
      bytes = await fetchGunzipped(url);
      ({ instance } = await WebAssembly.instantiate(bytes, env));
    } catch (err) {
      // v86 does not catch a failed wasm_fn: without this the machine would wait for ever.
      this.failLoad(new Error(`cannot start v86 from ${url}: ${(err as Error).message}`));
      throw err;
    }
    // v86 keeps the module's bytes for its zstd worker when it loads the wasm itself; do the same.
    (this.emulator as unknown as { wasm_source?: ArrayBuffer }).wasm_source = bytes;
    return instance.exports;
  }

  /** v86 keeps the disk in an object of its own; find it to hear about writes and to swap bytes. */
  private findDiskBuffer(): DiskBuffer {
    const seen = new Set<unknown>();
    const search = (obj: unknown, depth: number): DiskBuffer | undefined => {
      if (!obj || typeof obj !== 'object' || seen.has(obj) || depth > 5) return undefined;
      seen.add(obj);
      const o = obj as Partial<DiskBuffer>;
      if (o.buffer === this.disk && typeof o.set === 'function') return o as DiskBuffer;
      for (const key of Object.keys(obj)) {
        const v = (obj as Record<string, unknown>)[key];
        if (v && typeof v === 'object' && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer)) {
          const found = search(v, depth + 1);
          if (found) return found;
        }
      }
      return undefined;
    };
    const ide = (this.emulator as unknown as { v86: { cpu: { devices: { ide: unknown } } } }).v86.cpu.devices.ide;
    const found = search(ide, 0);
    if (!found) throw new Error('v86 internals changed: the persist disk buffer was not found (pinned v86 0.5.462)');
    return found;
  }

  private hookDisk(): void {
    const db = this.findDiskBuffer();
    const original = db.set.bind(db);
    db.set = (start, slice, done) => {
      original(start, slice, done);
      this.options.onDiskWrite?.(start, slice.byteLength);
    };
    this.diskBuffer = db;
  }

  private flush(): void {
    this.flushScheduled = false;
    const chunk = this.pending;
    this.pending = '';
    this.watchSnapshotPoint(chunk);
    for (const l of this.listeners) l(chunk);
  }

  private watchSnapshotPoint(chunk: string): void {
    this.lineTail = (this.lineTail + chunk).slice(-64);
    if (!this.lineTail.includes(SNAPSHOT_POINT)) return;
    this.lineTail = '';
    void (async () => {
      try {
        await this.options.onSnapshotPoint?.(this);
      } finally {
        if (!this.stopped) this.write('\n');
      }
    })();
  }

  write(data: string): void {
    this.emulator.serial0_send(data);
  }

  onData(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The persist disk's bytes (the same buffer the machine writes into). */
  get diskBytes(): ArrayBuffer {
    return this.disk;
  }

  /**
   * Saves the machine state without the persist disk in it: the disk is the source of truth and
   * is attached again on restore, so a state never rolls persist back (and stays small).
   */
  async saveState(): Promise<ArrayBuffer> {
    const db = this.diskBuffer!;
    await this.emulator.stop();
    db.buffer = new ArrayBuffer(0);
    try {
      return await this.emulator.save_state();
    } finally {
      db.buffer = this.disk;
      await this.emulator.run();
    }
  }

  async restoreState(state: ArrayBuffer): Promise<void> {
    await this.emulator.restore_state(state);
    const db = this.diskBuffer!;
    db.buffer = this.disk;
    db.byteLength = this.disk.byteLength;
  }

  /** Cuts the power: the emulator stops at once, with no chance for the guest to flush anything. */
  async powerOff(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.emulator.destroy();
  }
}
