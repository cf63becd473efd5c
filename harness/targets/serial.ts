import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { SerialPort as NodeSerialPort } from 'serialport';
import { Console, type SerialPort } from '../console.ts';
import type { SerialSpec } from '../lab.ts';
import { RelayPort } from '../relay.ts';
import { sshExec } from '../ssh.ts';
import { type BootInfo, type Capability, type Target, waitForBoot } from '../target.ts';

/** A real board: its serial console on a tty, its power switched by shell commands, SSH optional. */
export class SerialTarget implements Target {
  readonly kind = 'serial';
  readonly capabilities: ReadonlySet<Capability>;
  private readonly relay = new RelayPort();
  readonly console = new Console(this.relay);
  private port?: NodeSerialPort;
  private vanished?: string;

  constructor(readonly spec: SerialSpec) {
    this.capabilities = new Set<Capability>(['power-cut', 'reboot', ...(spec.ssh ? (['ssh'] as const) : [])]);
    this.name = spec.name;
  }

  readonly name: string;

  private power(which: 'on' | 'off'): void {
    // Bounded: a relay command that hangs must not hang the harness (nor its Ctrl-C handling).
    const r = spawnSync('sh', ['-c', this.spec.power[which]], { encoding: 'utf8', timeout: 60_000 });
    if (r.error) throw new Error(`power ${which} command did not finish (${r.error.message}): ${this.spec.power[which]}`);
    if (r.status !== 0) throw new Error(`power ${which} command failed (exit ${r.status}): ${this.spec.power[which]}\n${r.stderr}`);
  }

  /** Opens the tty (waiting for it to appear, as a USB adapter or a pty does after power-on). */
  private async open(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!fs.existsSync(this.spec.device)) {
      if (Date.now() > deadline) throw new Error(`serial device ${this.spec.device} does not exist (is the adapter plugged in?)`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Still open and healthy: keep it (a USB adapter outlives the board's power).
    if (this.port?.isOpen && !this.vanished) return;
    await this.closePort();
    const port = new NodeSerialPort({ path: this.spec.device, baudRate: this.spec.baud, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(new Error(`cannot open ${this.spec.device}: ${err.message}`)) : resolve())));
    this.vanished = undefined;
    this.console.reconnected();
    const gone = (why: string) => {
      if (this.port !== port || this.vanished) return;
      this.vanished = `serial port ${this.spec.device} vanished (${why}); check the adapter and its cable`;
      this.console.lost(new Error(this.vanished));
    };
    port.on('close', (err?: Error & { disconnected?: boolean }) => {
      if (err?.disconnected) gone('disconnected');
    });
    // A tty that goes away under a read or write (adapter unplugged, pty closed) fails with EIO.
    port.on('error', (err: Error) => gone(err.message));
    const adapter: SerialPort = {
      write: (data) => {
        if (this.vanished) throw new Error(this.vanished);
        port.write(Buffer.from(data, 'latin1'));
      },
      onData: (l) => {
        const h = (d: Buffer) => l(d.toString('latin1'));
        port.on('data', h);
        return () => port.off('data', h);
      },
    };
    this.port = port;
    this.relay.attach(adapter);
  }

  private async closePort(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise((r) => port.close(() => r(undefined)));
  }

  async powerCycle(hard: boolean): Promise<BootInfo> {
    if (!hard && this.port?.isOpen && !this.vanished) {
      // A reboot is the board's own: the tty stays, the power is not touched.
      this.console.skipAll();
      const started = Date.now();
      this.console.send('reboot\n');
      return waitForBoot(this.console, started);
    }
    this.power('off');
    await new Promise((r) => setTimeout(r, 500));
    // A tty that went away with the power (a pty, an adapter powered by the board) is reopened when it is back.
    if (!fs.existsSync(this.spec.device)) await this.closePort();
    // Listen before power-on where the tty exists already, so the whole boot is logged.
    if (fs.existsSync(this.spec.device)) await this.open().catch(() => undefined);
    this.console.skipAll();
    const started = Date.now();
    this.power('on');
    await this.open();
    return waitForBoot(this.console, started);
  }

  ssh(command: string, auth: { user: string; privateKey?: string; password?: string }): Promise<string> {
    const s = this.spec.ssh!;
    // The lab's key only when the caller brings no credentials: a password attempt stays one.
    const privateKey = auth.privateKey ?? (!auth.password && s.key ? fs.readFileSync(s.key, 'utf8') : undefined);
    return sshExec({ host: s.host, port: s.port, user: auth.user, privateKey, password: auth.password }, command);
  }

  sshAddress(): { host: string; port: number } {
    return { host: this.spec.ssh!.host, port: this.spec.ssh!.port };
  }

  async close(): Promise<void> {
    try {
      this.power('off');
    } catch (err) {
      // Said, not thrown: the run's results and reports still matter.
      process.stderr.write(`${this.name}: ${(err as Error).message}\n`);
    } finally {
      await this.closePort();
      this.relay.attach(undefined);
    }
  }
}
