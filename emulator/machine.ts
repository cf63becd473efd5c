import { V86 } from 'v86';
import type { SerialPort } from '../harness/console.ts';

/** The files a browser/v86 image consists of, as loaded bytes. */
export interface MachineImage {
  bios: ArrayBuffer;
  vgaBios: ArrayBuffer;
  kernel: ArrayBuffer;
  initrd: ArrayBuffer;
}

export interface MachineOptions {
  image: MachineImage;
  /** The persist disk. v86 reads and writes this buffer in place. */
  disk: ArrayBuffer;
  memoryMB?: number;
  /** Where v86.wasm is (a path in Node, a URL in the browser). */
  wasmPath: string;
  /** A saved machine state to resume from instead of booting. */
  state?: ArrayBuffer;
}

type Listener = (chunk: string) => void;

/** One v86 PC running SkiffOS: serial console, persist disk, power. Runs in Node and in a browser worker. */
export class V86Machine implements SerialPort {
  private readonly emulator: V86;
  private readonly listeners = new Set<Listener>();
  private pending = '';
  private flushScheduled = false;
  private stopped = false;

  constructor(readonly options: MachineOptions) {
    this.emulator = new V86({
      wasm_path: options.wasmPath,
      bios: { buffer: options.image.bios },
      vga_bios: { buffer: options.image.vgaBios },
      bzimage: { buffer: options.image.kernel },
      initrd: { buffer: options.image.initrd },
      hda: { buffer: options.disk },
      memory_size: (options.memoryMB ?? 128) * 1024 * 1024,
      vga_memory_size: 2 * 1024 * 1024,
      initial_state: options.state ? { buffer: options.state } : undefined,
      autostart: true,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
    } as ConstructorParameters<typeof V86>[0]);
    // Bytes arrive one at a time; hand them on in chunks, decoded as Latin-1 like a raw serial line.
    this.emulator.add_listener('serial0-output-byte', (byte: number) => {
      this.pending += String.fromCharCode(byte);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const chunk = this.pending;
    this.pending = '';
    for (const l of this.listeners) l(chunk);
  }

  write(data: string): void {
    this.emulator.serial0_send(data);
  }

  onData(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get disk(): ArrayBuffer {
    return this.options.disk;
  }

  saveState(): Promise<ArrayBuffer> {
    return this.emulator.save_state();
  }

  restoreState(state: ArrayBuffer): Promise<void> {
    return this.emulator.restore_state(state);
  }

  /** Cuts the power: the emulator stops at once, with no chance for the guest to flush anything. */
  async powerOff(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.emulator.destroy();
  }
}
