// The deploy step of `skiff test --deploy` and the `upgrade` scenario: what a hardware test loop
// needs from `skiff push` (issue 16), checked on the target as the device itself reports it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeRunning } from '../deploy/device-info.ts';
import { slotDir } from '../images/boot-slots.ts';
import { readManifest } from '../images/manifest.ts';
import type { Deployer } from './deployer.ts';
import { check, DEPLOY_STEP, type Scenario, type ScenarioContext, ScenarioFailure, sh } from './scenarios.ts';

const deployerOf = (ctx: ScenarioContext): Deployer => {
  if (!ctx.deployer) throw new ScenarioFailure('no build to deploy: run skiff test with --deploy');
  return ctx.deployer;
};

/** Runs one sub-step; its failure names the step and what was seen. */
async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const e = err as Error & { fix?: string };
    throw new ScenarioFailure(`${name}: ${e.message}${e.fix ? ` (${e.fix})` : ''}`);
  }
}

export const deployStep: Scenario = {
  name: DEPLOY_STEP,
  description: 'the build is pushed into the slot the target does not run, the target reboots into it, and it reports the build',
  needs: ['deploy'],
  async run(ctx) {
    const d = deployerOf(ctx);
    await step('logging in', () => d.connect());
    const before = await step('asking the device what it runs', () => d.info());
    const pushed = await step(`pushing ${d.plan.build}`, () => d.push({ reboot: true, log: (l) => ctx.note(l.trim()) }));
    const after = await step('checking the running version', async () => d.expectBuild(pushed.after, 'after the deploy'));
    ctx.note(`deployed: ${describeRunning(after)} (was ${describeRunning(before)})`);
  },
};

/**
 * A copy of `build` whose boot slot never reaches SKIFF_READY: its initramfs is not one, so the
 * kernel panics (no root file system). The manifest records the broken file, so skiff push sends it.
 */
export function brokenBuild(build: string, into: string): string {
  const manifest = readManifest(build);
  const slot = `boot/${slotDir('a')}/`;
  fs.mkdirSync(into, { recursive: true });
  fs.cpSync(path.join(build, slot), path.join(into, slot), { recursive: true });
  const initramfs = `${slot}initramfs.cpio.zst`;
  const broken = Buffer.from('not an initramfs\n');
  fs.writeFileSync(path.join(into, initramfs), broken);
  manifest.outputs[initramfs] = { ...manifest.outputs[initramfs]!, size: broken.length, sha256: crypto.createHash('sha256').update(broken).digest('hex') };
  fs.writeFileSync(path.join(into, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return into;
}

/** Where in a push `upgrade` cuts the power: 1 s after push logs the line that starts that phase. */
const CUT_POINTS = [
  { name: 'during the transfer', after: 'sending' },
  { name: 'during the card write', after: 'writing slot' },
];

export const upgrade: Scenario = {
  name: 'upgrade',
  description: 'a pushed build boots with persist intact; a broken one falls back to the running image by itself; a power cut during or right after a push still boots',
  needs: ['deploy', 'power-cut'],
  // Eight boots and six pushes: about 5 minutes on 2 cores, up to twice that on a slow machine.
  timeoutMs: 25 * 60_000,
  async run(ctx) {
    const d = deployerOf(ctx);
    const { target, note } = ctx;
    await step('logging in', () => d.connect());
    const token = crypto.randomBytes(6).toString('hex');
    await step('writing a file on persist', () => sh(target, `echo ${token} > /mnt/persist/harness-upgrade && sync`));

    // 1. A new build: the other slot, confirmed, persist untouched.
    const first = await step('new build: asking the device what it runs', () => d.info());
    const pushed = await step('new build: push and reboot', () => d.push({ reboot: true }));
    await step('new build: checking the running version', async () => {
      const after = d.expectBuild(pushed.after, 'after the push');
      check(after.slot !== first.slot && after.good === after.slot, `the device runs slot ${after.slot} (good: ${after.good}), expected the other slot than ${first.slot}, confirmed`);
    });
    await step('new build: checking persist', async () => {
      const r = await target.console.run('cat /mnt/persist/harness-upgrade', 60_000);
      check(r.output.trim() === token, `the file written before the push reads ${JSON.stringify(r.output.trim())}, expected ${token}`);
    });
    note(`new build: slot ${first.slot} → ${pushed.slot}, persist intact`);

    // 2. A broken build: tried once, then the card goes back to the image that ran, by itself.
    const good = pushed.after!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-broken-'));
    try {
      const panics = target.console.log.length;
      const outcome = await d.push({ build: brokenBuild(d.plan.build, dir), reboot: true, tries: 1 }).then(
        (r) => r,
        (err: Error) => err,
      );
      if (!(outcome instanceof Error)) throw new ScenarioFailure(`broken build: the device came back running ${describeRunning(outcome.after!)}, which reports the broken image as ready`);
      check(/not the new slot/.test(outcome.message), `broken build: the push failed otherwise than by falling back: ${outcome.message}`);
      const after = await step('broken build: asking the device what it runs', () => d.info());
      await step('broken build: checking it is back on the previous version', async () => {
        d.expectBuild(after, 'after the broken push');
        check(after.slot === good.slot && after.good === good.slot, `the device runs slot ${after.slot} (good: ${after.good}), expected slot ${good.slot} again`);
      });
      const seen = target.console.log.slice(panics).map((e) => e.data).join('');
      check(/Kernel panic/.test(seen), 'broken build: the console never showed the broken image panicking: was it tried at all?');
      note(`broken build: tried in slot ${outcome.message.match(/not the new slot ([ab])/)?.[1] ?? '?'}, panicked, back on slot ${after.slot}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }

    // 3. Power cuts in the middle of a push: while the build goes to the device's RAM (the card is
    // not touched yet), and while the device writes the new slot to its card.
    for (const point of CUT_POINTS) {
      const at = `power cut ${point.name}`;
      const before = await step(`${at}: asking the device what it runs`, () => d.info());
      let wrote = false;
      // Settled with the boot's error, if any: handled at once, awaited after the push gave up.
      let cutAndBoot: Promise<Error | undefined> | undefined;
      const pushing = d.push({
        reboot: false,
        log: (line) => {
          wrote ||= line.startsWith('writing slot');
          if (cutAndBoot || !line.startsWith(point.after)) return;
          cutAndBoot = new Promise((r) => setTimeout(r, 1000))
            .then(() => target.powerCycle(true))
            .then(
              () => undefined,
              (err: Error) => err,
            );
        },
      });
      const pushOutcome = await pushing.then(
        () => 'finished before the cut',
        (err: Error) => `cut off (${err.message.split('\n')[0]})`,
      );
      if (!cutAndBoot) throw new ScenarioFailure(`${at}: the push never got there: ${pushOutcome}`);
      const bootError = await cutAndBoot;
      if (bootError) throw new ScenarioFailure(`${at}: booting after the cut: ${bootError.message}`);
      const afterCut = await step(`${at}: asking the device what it runs`, () => d.info());
      await step(`${at}: checking it runs a whole image`, async () => d.expectBuild(afterCut, 'after the power cut'));
      check(afterCut.good === afterCut.slot, `${at}: the device runs slot ${afterCut.slot}, but its card names slot ${afterCut.good} as good`);
      // Cut before the card write began: the card is as it was.
      if (!wrote) check(afterCut.slot === before.slot, `${at}: the card write had not begun, yet the device now runs slot ${afterCut.slot}, not ${before.slot}`);
      note(`${at}: the push ${pushOutcome}${wrote ? '' : ' before the card write'}; booted slot ${afterCut.slot} (was ${before.slot})`);
    }

    // 4. The power cut after a push wrote its slot, before any reboot: the next boot tries the new slot and keeps it.
    const written = await step('power cut after the write: push without a reboot', () => d.push({ reboot: false }));
    await step('power cut after the write: booting after the cut', () => target.powerCycle(true));
    const afterWrite = await step('power cut after the write: asking the device what it runs', () => d.info());
    await step('power cut after the write: checking it runs the new slot, confirmed', async () => {
      d.expectBuild(afterWrite, 'after the cut');
      check(afterWrite.slot === written.slot && afterWrite.good === written.slot, `the device runs slot ${afterWrite.slot} (good: ${afterWrite.good}), expected the new slot ${written.slot}, confirmed`);
    });
    note(`power cut after the write: booted the new slot ${written.slot} and kept it`);

    await step('checking persist after the cuts', async () => {
      const r = await target.console.run('cat /mnt/persist/harness-upgrade', 60_000);
      check(r.output.trim() === token, `the file written before the pushes reads ${JSON.stringify(r.output.trim())}, expected ${token}`);
    });
    await sh(target, 'rm -f /mnt/persist/harness-upgrade && sync');
  },
};
