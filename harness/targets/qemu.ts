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
        let seen = '';
        let timer: ReturnType<typeof setTimeout> | undefined;
        let off = () => {};
        const lastWords = new Promise<void>((resolve) => {
          off = this.port.onData((chunk) => {
            seen = (seen + chunk).slice(-300);
            if (!REBOOT_WORDS.test(seen)) return;
            off();
            timer = setTimeout(resolve, LAST_WORDS_MS);
          });
        });
        this.console.send('reboot\n');
        const enough = new Promise((r) => setTimeout(r, 60_000).unref());
        await Promise.race([this.machine.exited, lastWords, enough]);
        // Cleared, or it would keep the CLI alive for a minute after the last scenario.
        clearTimeout(timer);
        off();
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
    let seen = '';
    let restarting = false;
    let stopped = false;
    const off = this.port.onData((chunk) => {
      seen = (seen + chunk).slice(-300);
      if (restarting || stopped || !REBOOT_WORDS.test(seen)) return;
      restarting = true;
      // A moment for the rest of the last words ("Reboot failed" follows a second later), which
      // must not count as the next boot's restart.
      setTimeout(() => {
        const on = stopped ? Promise.resolve() : this.powerOn();
        // A failed start shows as the boot the caller waits for never coming, not as an unhandled rejection.
        on.catch(() => {}).finally(() => {
          seen = '';
          restarting = false;
        });
      }, LAST_WORDS_MS);
    });
    return () => {
      stopped = true;
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
