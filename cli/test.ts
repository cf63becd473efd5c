import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../buildroot/layers/context.ts';
import { defineCommand, type FlagValues } from './command.ts';
import { junit, markdown } from '../harness/report.ts';
import { deployStep } from '../harness/deploy-scenarios.ts';
import { Deployer } from '../harness/deployer.ts';
import { runScenarios, type ScenarioResult } from '../harness/run.ts';
import { openTarget } from '../harness/targets/open.ts';
import { planTest } from '../harness/test-plan.ts';

const TEST_FLAGS = {
  target: { type: 'string', value: 'TARGET', example: 'v86', help: 'v86, qemu, v86-browser, or a target of the --lab file' },
  scenario: { type: 'string', value: 'NAMES', example: 'boot,persist', help: 'comma separated scenarios to run (default: all; upgrade only with --deploy)' },
  scenarios: { type: 'string', value: 'FILE', example: 'my-scenarios.ts', help: 'a module exporting more scenarios' },
  report: { type: 'string', value: 'DIR', example: 'reports', help: 'write junit.xml and report.md (with the console logs) there' },
  image: { type: 'string', value: 'DIR', example: 'images/out/default', help: "the image folder to boot (default: the workspace's); with --deploy, the build to push" },
  lab: { type: 'string', value: 'FILE', example: 'lab.yaml', help: 'a lab file naming targets: boards on serial consoles, emulators, and how to deploy to each' },
  deploy: { type: 'boolean', help: "push the build (the workspace's, or --image) to the target first, check it runs, then run the scenarios and upgrade" },
} as const;

export const test = defineCommand({
  usage: [
    'skiff test --target v86|qemu|v86-browser [--scenario NAMES] [--scenarios FILE] [--report DIR] [--image DIR]',
    'skiff test --lab FILE --target <name> [--scenario NAMES] [--scenarios FILE] [--report DIR]',
    'skiff test --deploy --target qemu|<lab target> [--lab FILE] [--image DIR] [--scenario NAMES] [--report DIR]',
  ],
  description:
    "Boots the workspace's image (or --image) on the target, or a lab file's target (a board on a serial\nconsole), and runs the harness scenarios (boot, persist, hostname, power-loss, ssh-keys), plus --scenarios\nFILE, the lab file's and the layers' tests/scenarios.ts. Exit 1 when one fails.\nv86-browser boots the image in the playground page in Chromium (run `npm run build` once first).\nqemu also boots a board whose layer names a QEMU model of it (QEMU_MACHINE), from its card image.\n--deploy first pushes the build into the target's other boot slot (skiff push; a lab target says how:\ndeploy: ssh), reboots it and checks it runs that build (the step `deploy` in the reports), then runs\nthe scenarios and `upgrade` (a new build, a broken one that must fall back, a power cut mid-push).",
  flags: TEST_FLAGS,
  run: ({ flags, context }) => testCommand(context(), flags),
});

/** `skiff test --target v86|qemu|<lab target> [--lab FILE] [--scenario a,b] [--scenarios FILE] [--report dir] [--image dir]`. */
export async function testCommand(ctx: Context, flags: FlagValues<typeof TEST_FLAGS>): Promise<number> {
  // Everything is checked before the target exists: a typo must never switch a board off.
  const plan = await planTest(ctx, flags);
  const target = openTarget(plan.target);
  const deployer = plan.deploy && new Deployer(plan.deploy, target);
  const scenarios = deployer ? [deployStep, ...plan.scenarios] : plan.scenarios;
  let results: ScenarioResult[] = [];
  // Ctrl-C: power the target off and remove its temp files before exiting.
  const onSignal = () => {
    deployer?.close();
    void target.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    results = await runScenarios(
      target,
      scenarios,
      (r) => {
        const mark = r.status === 'passed' ? 'ok  ' : r.status === 'failed' ? 'FAIL' : 'skip';
        process.stderr.write(`${mark} ${target.name}: ${r.scenario} (${(r.ms / 1000).toFixed(1)} s)${r.notes.length ? ` — ${r.notes.join('; ')}` : ''}\n`);
        if (r.error) process.stderr.write(`     ${r.error.replace(/\n/g, '\n     ')}\n`);
      },
      undefined,
      deployer,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    deployer?.close();
    await target.close();
  }
  const { report } = plan;
  if (report) {
    fs.mkdirSync(report, { recursive: true });
    fs.writeFileSync(path.join(report, 'junit.xml'), junit(results));
    fs.writeFileSync(path.join(report, 'report.md'), markdown(results));
    process.stderr.write(`reports: ${path.join(report, 'junit.xml')}, ${path.join(report, 'report.md')}\n`);
  }
  const passed = results.filter((r) => r.status === 'passed').length;
  const failed = results.filter((r) => r.status === 'failed').length;
  process.stdout.write(`${passed} passed, ${failed} failed${results.length - passed - failed ? `, ${results.length - passed - failed} skipped` : ''}\n`);
  return failed > 0 ? 1 : 0;
}

