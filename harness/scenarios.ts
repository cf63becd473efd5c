import type { Deployer } from './deployer.ts';
import type { Capability, Target } from './target.ts';

export interface ScenarioContext {
  target: Target;
  /** With `skiff test --deploy`: puts builds on the target (scenarios that need `deploy`). */
  deployer?: Deployer;
  /** Notes that go into the report next to the console log. */
  note(text: string): void;
}

export interface Scenario {
  name: string;
  description: string;
  needs: Capability[];
  /** Longer than the run's bound per scenario, for one that boots many times. */
  timeoutMs?: number;
  run(ctx: ScenarioContext): Promise<void>;
}

export class ScenarioFailure extends Error {}

/**
 * The name of `skiff test --deploy`'s first step (harness/deploy-scenarios.ts). Here, not there,
 * because the runner reads it and also runs in the browser, where that module's Node imports cannot go.
 */
export const DEPLOY_STEP = 'deploy';

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ScenarioFailure(message);
}

/** Runs a shell command on the target's console and fails the scenario if it exits non-zero. */
export async function sh(target: Target, command: string, timeoutMs = 30_000): Promise<string> {
  const r = await target.console.run(command, timeoutMs);
  check(r.status === 0, `\`${command}\` exited ${r.status}: ${r.output.trim().split('\n').slice(-5).join(' / ')}`);
  return r.output.trim();
}

const token = () => Math.random().toString(36).slice(2, 10);

export const boot: Scenario = {
  name: 'boot',
  description: 'the machine reaches SKIFF_READY and a shell',
  needs: [],
  async run({ target, note }) {
    const info = await target.powerCycle(true);
    note(`SKIFF_READY ${info.version} after ${info.guestSeconds} s of guest uptime (${(info.wallMs / 1000).toFixed(1)} s wall)`);
    check(/^\d+\.\d+/.test(info.version), `unexpected version in the boot marker: ${info.version}`);
    check((await sh(target, 'cat /proc/1/comm')) === 'init', 'PID 1 is not init');
  },
};

export const persist: Scenario = {
  name: 'persist',
  description: 'persist is ext4, mounted at /mnt/persist, and a file survives a reboot',
  needs: ['reboot'],
  async run({ target, note }) {
    const mount = await sh(target, 'grep " /mnt/persist " /proc/mounts');
    check(/ ext4 /.test(mount), `/mnt/persist is not ext4: ${mount}`);
    check((await sh(target, '/sbin/e2label "$(grep " /mnt/persist " /proc/mounts | cut -d" " -f1)"')) === 'persist', 'the persist file system is not labelled persist');
    const t = token();
    await sh(target, `echo ${t} > /mnt/persist/harness-persist && sync`);
    await target.powerCycle(false);
    check((await sh(target, 'cat /mnt/persist/harness-persist')) === t, 'the file written before the reboot is gone');
    note(`wrote ${t}, read it back after a reboot`);
  },
};

export const hostname: Scenario = {
  name: 'hostname',
  description: 'the hostname in skiff/hostname on persist is applied at boot',
  needs: ['reboot'],
  async run({ target }) {
    const before = await sh(target, 'cat /mnt/persist/skiff/hostname');
    const name = `skiff-${token()}`;
    await sh(target, `echo ${name} > /mnt/persist/skiff/hostname && sync`);
    await target.powerCycle(false);
    const now = await sh(target, 'hostname');
    await sh(target, `echo ${before} > /mnt/persist/skiff/hostname && sync`);
    check(now === name, `hostname is ${now}, expected ${name}`);
  },
};

export const powerLoss: Scenario = {
  name: 'power-loss',
  description: 'cutting power during a write loop loses nothing that was synced, and persist stays consistent',
  needs: ['power-cut'],
  async run({ target, note }) {
    await sh(target, 'rm -f /mnt/persist/harness-loop && sync');
    // Each line is appended and synced, then announced: whatever was announced must survive.
    target.console.send('i=0; while true; do i=$((i+1)); echo "line $i" >> /mnt/persist/harness-loop; sync; echo "SYNCED-$i"; done\n');
    let last = 0;
    for (let n = 0; n < 15; n++) last = Number((await target.console.waitFor(/SYNCED-(\d+)\r?\n/, 30_000))[1]);
    await target.powerCycle(true);
    const lines = (await sh(target, 'cat /mnt/persist/harness-loop')).split('\n');
    check(lines.length >= last, `only ${lines.length} lines survived, ${last} were synced before the cut`);
    lines.forEach((l, i) => check(l === `line ${i + 1}` || (i === lines.length - 1 && /^line \d*$/.test(l)), `line ${i + 1} is damaged: ${JSON.stringify(l)}`));
    const fsck = await sh(target, 'cat /run/skiff-fsck.log');
    check(!/UNEXPECTED INCONSISTENCY/.test(fsck), `e2fsck found inconsistencies after the cut:\n${fsck}`);
    await sh(target, 'rm -f /mnt/persist/harness-loop && sync');
    note(`${last} lines synced before the cut, ${lines.length} found after it`);
  },
};

export const BUILTIN_SCENARIOS: Scenario[] = [boot, persist, hostname, powerLoss];
