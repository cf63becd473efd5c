import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Console } from '../console.ts';
import { freePort, QemuMachine } from '../qemu.ts';
import { RelayPort } from '../relay.ts';
import { sshExec } from '../ssh.ts';
import { type BootInfo, type Capability, type Target, waitForBoot } from '../target.ts';

/**
 * The last words of a reboot: busybox init's, once it has run the shutdown scripts and synced, and
 * the kernel's (on ARM also after a panic's restart did nothing). Some machines QEMU models cannot
 * reset (orangepi-pc), so QEMU never exits for them: these lines are the cue instead.
 */
const REBOOT_WORDS = /Requesting system reboot|Restarting system|Reboot failed/;
/** Busybox pauses a second after its last words before it asks the kernel to reboot. */
const LAST_WORDS_MS = 2000;

/** A virt/qemu image in QEMU (TCG): a persist disk in a temp folder, SSH forwarded from 127.0.0.1 only. */
export class QemuTarget implements Target {
  readonly kind = 'qemu';
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['power-cut', 'reboot', 'ssh']);
  private readonly port = new RelayPort();
  readonly console = new Console(this.port);
  private machine?: QemuMachine;
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-qemu-'));
  private sshPort = 0;

  constructor(
    readonly name: string,
    private readonly imageDir: string,
  ) {}

  async powerCycle(hard: boolean): Promise<BootInfo> {
    if (this.machine) {
      if (!hard) {
        // A real reboot: the guest unmounts persist, QEMU (-no-reboot) exits, or the console says the
        // guest is done where QEMU cannot reset the machine, and we start it again.
        let stop = () => {};
        const lastWords = new Promise<void>((resolve) => (stop = this.afterLastWords(resolve)));
        this.console.send('reboot\n');
        // Unref'd, or it would keep the CLI alive for a minute after the last scenario.
        const enough = new Promise((r) => setTimeout(r, 60_000).unref());
        await Promise.race([this.machine.exited, lastWords, enough]);
        stop();
      }
      await this.machine.powerOff();
    }
    const started = Date.now();
    await this.powerOn();
    return waitForBoot(this.console, started);
  }

  private async powerOn(): Promise<void> {
    await this.machine?.powerOff();
    this.console.skipAll();
    this.sshPort ||= await freePort();
    this.machine = new QemuMachine({ imageDir: this.imageDir, disk: path.join(this.dir, 'persist.img'), sshPort: this.sshPort });
    this.port.attach(this.machine);
  }

  sshAddress(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.sshPort };
  }

  restartOnReboot(): () => void {
    // A failed start shows as the boot the caller waits for never coming, not as an unhandled rejection.
    return this.afterLastWords(() => this.powerOn().catch(() => {}));
  }

  /**
   * Runs `then` LAST_WORDS_MS after each reboot's last words on the console, one reboot at a time
   * (the rest of the last words, "Reboot failed" a second later, must not count as the next
   * boot's), until the returned function stops it.
   */
  private afterLastWords(then: () => unknown): () => void {
    let seen = '';
    let pending: ReturnType<typeof setTimeout> | undefined;
    const off = this.port.onData((chunk) => {
      if (pending) return;
      seen = (seen + chunk).slice(-300);
      if (!REBOOT_WORDS.test(seen)) return;
      pending = setTimeout(async () => {
        await then();
        seen = '';
        pending = undefined;
      }, LAST_WORDS_MS);
    });
    return () => {
      clearTimeout(pending);
      off();
    };
  }

  ssh(command: string, auth: { user: string; privateKey?: string; password?: string }): Promise<string> {
    return sshExec({ host: '127.0.0.1', port: this.sshPort, ...auth }, command);
  }

  async close(): Promise<void> {
    await this.machine?.powerOff();
    this.port.attach(undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
