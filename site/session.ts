import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import * as Comlink from 'comlink';
import type { BootResult, PlaygroundApi, SessionEvents } from './worker.ts';

export interface SessionView {
  download?(loaded: number, total: number): void;
  booting?(how: 'cold' | 'fast'): void;
  ready?(info: Parameters<SessionEvents['ready']>[0]): void;
  persisted?(info: Parameters<SessionEvents['persisted']>[0]): void;
  stateSaved?(bytes: number): void;
}

/** A SkiffOS machine in a worker, bound to an xterm.js terminal: shared by the playground and the embed element. */
export class Session {
  readonly terminal: Terminal;
  private worker!: Worker;
  private remote!: Comlink.Remote<PlaygroundApi>;
  private booted?: { imageBase: string; fastBoot: boolean };
  private cutting?: Promise<BootResult>;
  private readonly fit = new FitAddon();
  private outputListeners = new Set<(text: string) => void>();
  private readonly decoder = new TextDecoder();
  /**
   * Set while the harness drives the console: the terminal's keystrokes, and its automatic answers
   * to the shell's cursor-position queries (ESC[6n), are not sent. An answer racing a command
   * typed by the harness can leave the shell holding the line without running it.
   */
  harnessDriving = false;

  constructor(
    container: HTMLElement,
    private readonly view: SessionView = {},
  ) {
    this.terminal = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 14, scrollback: 5000, theme: { background: '#0b1020' } });
    this.terminal.loadAddon(this.fit);
    this.terminal.open(container);
    this.fit.fit();
    new ResizeObserver(() => this.fit.fit()).observe(container);
    this.spawnWorker();
    this.terminal.onData((data) => {
      if (!this.harnessDriving) void this.api.send(data);
    });
  }

  /** The machine's worker; replaced on every power cut. */
  get api(): Comlink.Remote<PlaygroundApi> {
    return this.remote;
  }

  private spawnWorker(): void {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    this.remote = Comlink.wrap<PlaygroundApi>(this.worker);
  }

  /**
   * Cuts the power and boots again in a fresh worker, after the disk's last writes are in
   * IndexedDB. A fresh worker, because restoring a saved state several times in one worker was
   * seen to leave the guest's shell stalled on its next command; one restore per worker, as on a
   * page load, has not been. `cold` skips the saved state for this boot.
   */
  powerCut(cold = false): Promise<BootResult> {
    // One cut at a time: a second press while the first boots waits for it instead of killing it.
    this.cutting ??= this.cutAndBoot(cold).finally(() => (this.cutting = undefined));
    return this.cutting;
  }

  private async cutAndBoot(cold: boolean): Promise<BootResult> {
    if (!this.booted) throw new Error('the machine has not been started yet');
    const { imageBase, fastBoot } = this.booted;
    await this.remote.halt();
    this.remote[Comlink.releaseProxy]();
    this.worker.terminate();
    this.spawnWorker();
    const result = await this.boot(imageBase, fastBoot && !cold);
    this.booted = { imageBase, fastBoot };
    return result;
  }

  async setFastBoot(on: boolean): Promise<void> {
    if (this.booted) this.booted.fastBoot = on;
    await this.remote.setFastBoot(on);
  }

  boot(imageBase: string, fastBoot: boolean): Promise<BootResult> {
    this.booted = { imageBase, fastBoot };
    const events: SessionEvents = {
      output: (bytes) => {
        this.terminal.write(bytes);
        const text = this.decoder.decode(bytes, { stream: true });
        for (const l of this.outputListeners) l(text);
      },
      download: (l, t) => this.view.download?.(l, t),
      booting: (how) => this.view.booting?.(how),
      ready: (info) => this.view.ready?.(info),
      persisted: (info) => this.view.persisted?.(info),
      stateSaved: (bytes) => this.view.stateSaved?.(bytes),
    };
    return this.api.boot(imageBase, fastBoot, Comlink.proxy(events));
  }

  /** Guest output as text, for scripted demos and the in-page harness. */
  onOutput(listener: (text: string) => void): () => void {
    this.outputListeners.add(listener);
    return () => this.outputListeners.delete(listener);
  }

  focus(): void {
    this.terminal.focus();
  }
}

/** Where the built image is served from, relative to the page. */
export const IMAGE_BASE = new URL('image/', document.baseURI).href;
