import { BOOT_MARKER_LINE, bootMarker } from '../images/boot-marker.ts';
import type { Console } from './console.ts';

/** `deploy`: the run was given a build to put on the target (`skiff test --deploy`). */
export type Capability = 'power-cut' | 'reboot' | 'ssh' | 'deploy';

/** What a scenario drives: a machine with a console, power, and maybe SSH. Emulators and boards alike. */
export interface Target {
  readonly name: string;
  readonly kind: string;
  readonly capabilities: ReadonlySet<Capability>;
  /** The current boot's console (replaced on every power-on). */
  readonly console: Console;
  /** Powers on (first call) or cycles the machine; `hard` cuts the power without warning the guest. */
  powerCycle(hard: boolean): Promise<BootInfo>;
  /** Runs a command over SSH as `user` (targets with the ssh capability). */
  ssh?(command: string, auth: { user: string; privateKey?: string; password?: string }): Promise<string>;
  /** Where this machine reaches the target's SSH server (targets with the ssh capability). */
  sshAddress?(): { host: string; port: number };
  /**
   * Until the returned function is called, powers the machine on again whenever its guest restarts
   * (a reboot, a kernel panic): what a board's reset does by itself, and QEMU's models here do not
   * (orangepi-pc halts, -no-reboot exits). Targets that restart by themselves lack it.
   */
  restartOnReboot?(): () => void;
  /** Powers off and releases everything (processes, temp files). */
  close(): Promise<void>;
}

export interface BootInfo {
  version: string;
  /** Seconds since the kernel started, from the SKIFF_READY line. */
  guestSeconds: number;
  wallMs: number;
}

/** Waits for the boot marker and a working shell on `console`. */
export async function waitForBoot(console: Console, startedAt: number, timeoutMs = 180_000): Promise<BootInfo> {
  const m = await console.waitFor(BOOT_MARKER_LINE, timeoutMs);
  await console.run('true', 30_000);
  return { ...bootMarker(m), wallMs: Date.now() - startedAt };
}
