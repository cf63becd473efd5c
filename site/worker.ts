// The machine runs here, off the page's thread: v86, the persist disk and its IndexedDB store, saved states.
import * as Comlink from 'comlink';
import { fetchImage, imageId } from '../emulator/image-loader.ts';
import { V86Machine } from '../emulator/machine.ts';
import type { MachineImage } from '../emulator/machine.ts';
import { IndexedDbBackend } from '../emulator/persist/indexeddb-backend.ts';
import { StateCache } from '../emulator/persist/state-cache.ts';
import { DiskSync, PersistStore } from '../emulator/persist/store.ts';
import { BOOT_MARKER_LINE, bootMarker } from '../images/boot-marker.ts';
import type { Manifest } from '../images/manifest.ts';

export interface SessionEvents {
  output(bytes: Uint8Array): void;
  download(loaded: number, total: number): void;
  booting(how: 'cold' | 'fast'): void;
  ready(info: { version: string; guestSeconds: number; wallMs: number; fast: boolean }): void;
  persisted(info: { chunks: number; at: number; storedBytes: number }): void;
  stateSaved(bytes: number): void;
}

export interface BootResult {
  status: 'running' | 'damaged' | 'busy';
  problem?: string;
  image?: { version: string; kernel: string; chain: string[] };
}

/**
 * v86.wasm, gzip-compressed, in the site's own image/ folder (see vite.config.ts), whichever image
 * the page boots: the site's root is where this worker's assets/ folder is (or the worker, in dev).
 */
const WASM_URL = new URL('image/v86.wasm.gz', self.location.href.replace(/(assets\/)?[^/]*$/, '')).href;

class Playground {
  private machine?: V86Machine;
  private store?: PersistStore;
  private sync?: DiskSync;
  private disk?: ArrayBuffer;
  private salvage?: ArrayBuffer;
  private loaded?: { image: MachineImage; manifest: Manifest };
  private events?: SessionEvents;
  private readonly states = new StateCache();
  private fastBoot = true;

  async boot(imageBase: string, fastBoot: boolean, events: SessionEvents): Promise<BootResult> {
    this.events = events;
    this.fastBoot = fastBoot;
    this.loaded ??= await fetchImage(imageBase, (l, t) => events.download(l, t));
    const m = this.loaded.manifest;
    const image = { version: m.skiff, kernel: m.kernel?.release ?? 'none (the host\'s)', chain: m.chain };
    // One machine per persist store: a second tab saving its own chunk map would corrupt ours.
    if (!(await this.holdStoreLock())) {
      return { status: 'busy', problem: 'SkiffOS is already running in another tab of this browser: use that tab, or close it and reload this one.', image };
    }
    this.store = new PersistStore(new IndexedDbBackend());
    const opened = await this.store.open();
    if (opened.status === 'damaged') {
      this.salvage = opened.salvage;
      return { status: 'damaged', problem: opened.problem, image };
    }
    await this.start(opened.disk);
    return { status: 'running', image };
  }

  private lockHeld = false;

  /** Holds the store's lock until this worker ends (a power cut's old worker lets go as it is terminated). */
  private holdStoreLock(waitMs = 10_000): Promise<boolean> {
    if (this.lockHeld || !navigator.locks) return Promise.resolve(true);
    return new Promise((resolve) => {
      navigator.locks
        .request('skiff-persist', { signal: AbortSignal.timeout(waitMs) }, () => {
          this.lockHeld = true;
          resolve(true);
          return new Promise<never>(() => {});
        })
        .catch(() => resolve(false));
    });
  }

  private async start(disk: ArrayBuffer): Promise<void> {
    const events = this.events!;
    const { image, manifest } = this.loaded!;
    const id = imageId(manifest);
    this.disk = disk;
    this.sync = new DiskSync(this.store!, () => this.disk!, (chunks, at) => events.persisted({ chunks, at, storedBytes: this.store!.storedBytes }));
    const state = this.fastBoot ? await this.states.load(id).catch(() => undefined) : undefined;
    const started = performance.now();
    events.booting(state ? 'fast' : 'cold');
    const machine = new V86Machine({
      image,
      disk,
      wasmPath: WASM_URL,
      state,
      onDiskWrite: this.sync.written,
      onSnapshotPoint: this.fastBoot && !state
        ? async (m) => {
            const saved = await m.saveState();
            events.stateSaved(await this.states.save(id, saved));
          }
        : undefined,
    });
    this.machine = machine;
    let tail = '';
    machine.onData((chunk) => {
      events.output(Uint8Array.from(chunk, (c) => c.charCodeAt(0)));
      tail = (tail + chunk).slice(-200);
      const r = BOOT_MARKER_LINE.exec(tail);
      if (r) {
        tail = '';
        events.ready({ ...bootMarker(r), wallMs: performance.now() - started, fast: !!state });
      }
    });
    try {
      await machine.started;
    } catch (err) {
      // A state from another v86 or image layout: forget it and boot cold.
      await machine.powerOff();
      await this.states.drop(id);
      if (!state) throw err;
      this.fastBoot = false;
      await this.start(disk);
      this.fastBoot = true;
    }
  }

  send(text: string): void {
    this.machine?.write(text);
  }

  /** Stops the machine at once (a power cut) and saves what it wrote to IndexedDB. */
  async halt(): Promise<void> {
    await this.machine?.powerOff();
    await this.sync?.flush();
  }

  async setFastBoot(on: boolean): Promise<void> {
    this.fastBoot = on;
    if (!on) await this.states.drop();
  }

  /** The persist disk as a raw ext4 image, after saving what the guest wrote last. */
  async exportDisk(): Promise<Uint8Array> {
    await this.sync?.flush();
    const bytes = new Uint8Array((this.disk ?? this.salvage)!.slice(0));
    return Comlink.transfer(bytes, [bytes.buffer]);
  }

  async exportSalvage(): Promise<Uint8Array> {
    const bytes = new Uint8Array(this.salvage!.slice(0));
    return Comlink.transfer(bytes, [bytes.buffer]);
  }

  /** Replaces persist with an image and boots it (the machine is powered off first). */
  async importDisk(bytes: Uint8Array): Promise<void> {
    await this.machine?.powerOff();
    const disk = await this.store!.importImage(bytes.slice().buffer);
    await this.start(disk);
  }

  async wipe(): Promise<void> {
    await this.machine?.powerOff();
    this.salvage = undefined;
    await this.start(await this.store!.wipe());
  }

  status() {
    return { storedBytes: this.store?.storedBytes ?? 0, lastSaved: this.store?.lastSaved ?? 0, diskBytes: this.disk?.byteLength ?? 0 };
  }
}

export type PlaygroundApi = Playground;
Comlink.expose(new Playground());
