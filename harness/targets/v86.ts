import { V86Machine } from '../../emulator/machine.ts';
import { loadImageDir, nodeWasmPath } from '../../emulator/node-image.ts';
import { Console } from '../console.ts';
import { RelayPort } from '../relay.ts';
import { type BootInfo, type Capability, type Target, waitForBoot } from '../target.ts';

/** browser/v86 in v86, in this Node process; the persist disk lives in memory for the target's lifetime. */
export class V86Target implements Target {
  readonly kind = 'v86';
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['power-cut', 'reboot']);
  private readonly port = new RelayPort();
  readonly console = new Console(this.port);
  private machine?: V86Machine;
  private readonly disk: ArrayBuffer;

  constructor(
    readonly name: string,
    private readonly imageDir: string,
    diskBytes = 64 * 1024 * 1024,
  ) {
    this.disk = new ArrayBuffer(diskBytes);
  }

  /** A soft cycle syncs first (a clean reboot); a hard one just stops the emulator. */
  async powerCycle(hard: boolean): Promise<BootInfo> {
    if (this.machine) {
      if (!hard) await this.console.run('sync', 30_000).catch(() => undefined);
      await this.machine.powerOff();
    }
    this.console.skipAll();
    const started = Date.now();
    this.machine = new V86Machine({ image: loadImageDir(this.imageDir), disk: this.disk, wasmPath: nodeWasmPath() });
    this.port.attach(this.machine);
    return waitForBoot(this.console, started);
  }

  async close(): Promise<void> {
    await this.machine?.powerOff();
    this.port.attach(undefined);
  }
}
