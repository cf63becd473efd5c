import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../buildroot/layers/context.ts';
import { SkiffError } from '../lib/errors.ts';
import { defineCommand, type FlagValues } from './command.ts';
import { outDir } from '../images/paths.ts';
import { junit, markdown } from '../harness/report.ts';
import { runScenarios, type ScenarioResult } from '../harness/run.ts';
import { BUILTIN_SCENARIOS, type Scenario } from '../harness/scenarios.ts';
import { sshKeys } from '../harness/ssh-scenarios.ts';
import type { Target } from '../harness/target.ts';
import { layerScenarioFiles, loadScenarioModules } from '../harness/extra-scenarios.ts';
import { readLab } from '../harness/lab.ts';
import { QemuTarget } from '../harness/targets/qemu.ts';
import { SerialTarget } from '../harness/targets/serial.ts';
import { V86Target } from '../harness/targets/v86.ts';
import { V86BrowserTarget } from '../harness/targets/v86-browser.ts';

const TARGETS: Record<string, { bootMethod: string; make: (image: string, name: string) => Target; build: string }> = {
  v86: { bootMethod: 'v86', make: (image, name) => new V86Target(name, image), build: 'browser/v86' },
  qemu: { bootMethod: 'qemu', make: (image, name) => new QemuTarget(name, image), build: 'virt/qemu' },
  // The playground page in Chromium (needs `npm run build` once); the tab boots this image.
  'v86-browser': { bootMethod: 'v86', make: (image, name) => new V86BrowserTarget(name, image), build: 'browser/v86' },
};

const TEST_FLAGS = {
  target: { type: 'string', value: 'TARGET', example: 'v86', help: 'v86, qemu, v86-browser, or a target of the --lab file' },
  scenario: { type: 'string', value: 'NAMES', example: 'boot,persist', help: 'comma separated scenarios to run (default: all)' },
  scenarios: { type: 'string', value: 'FILE', example: 'my-scenarios.ts', help: 'a module exporting more scenarios' },
  report: { type: 'string', value: 'DIR', example: 'reports', help: 'write junit.xml and report.md (with the console logs) there' },
  image: { type: 'string', value: 'DIR', example: 'images/out/default', help: "the image folder to boot (default: the workspace's)" },
  lab: { type: 'string', value: 'FILE', example: 'lab.yaml', help: 'a lab file naming boards on serial consoles' },
} as const;

export const test = defineCommand({
  usage: [
    'skiff test --target v86|qemu|v86-browser [--scenario NAMES] [--scenarios FILE] [--report DIR] [--image DIR]',
    'skiff test --lab FILE --target <name> [--scenario NAMES] [--scenarios FILE] [--report DIR]',
  ],
  description:
    "Boots the workspace's image (or --image) on the target, or a lab file's target (a board on a serial\nconsole), and runs the harness scenarios (boot, persist, hostname, power-loss, ssh-keys), plus --scenarios\nFILE, the lab file's and the layers' tests/scenarios.ts. Exit 1 when one fails.\nv86-browser boots the image in the playground page in Chromium (run `npm run build` once first).\nqemu also boots a board whose layer names a QEMU model of it (QEMU_MACHINE), from its card image.",
  flags: TEST_FLAGS,
  run: ({ flags, context }) => testCommand(context(), flags),
});

/** `skiff test --target v86|qemu|<lab target> [--lab FILE] [--scenario a,b] [--scenarios FILE] [--report dir] [--image dir]`. */
export async function testCommand(ctx: Context, flags: FlagValues<typeof TEST_FLAGS>): Promise<number> {
  const name = flags.target;
  const lab = flags.lab ? readLab(flags.lab) : undefined;
  let target: Target;
  let manifest: { chain: string[]; layers?: { path: string }[] } | undefined;
  const extraFiles = [...(lab?.scenarios ?? []), ...(flags.scenarios ? [flags.scenarios] : [])];
  if (lab) {
    const spec = name ? lab.targets.get(name) : undefined;
    if (!spec) throw new SkiffError(`${lab.file} has no target ${JSON.stringify(name ?? '')}`, `targets in it: ${[...lab.targets.keys()].join(', ')}; pass one with --target`);
    if (spec.kind === 'serial') target = new SerialTarget(spec);
    else ({ target, manifest } = emulatorTarget(spec.kind, spec.image, spec.name));
  } else {
    if (!name || !TARGETS[name]) throw new SkiffError(`--target must be one of: ${Object.keys(TARGETS).join(', ')} (or a target of a --lab file)`, 'e.g. `skiff test --target v86`');
    ({ target, manifest } = emulatorTarget(name, path.resolve(flags.image ?? outDir(ctx)), name));
  }
  if (manifest?.layers) extraFiles.push(...layerScenarioFiles(ctx.rootDir, manifest.layers));
  let scenarios: Scenario[];
  try {
    const all = [...BUILTIN_SCENARIOS, sshKeys, ...(await loadScenarioModules(extraFiles))];
    const wanted = flags.scenario?.split(',') ?? all.map((s) => s.name);
    const unknown = wanted.filter((w) => !all.some((s) => s.name === w));
    if (unknown.length) throw new SkiffError(`unknown scenario ${unknown.join(', ')}`, `scenarios: ${all.map((s) => s.name).join(', ')}`);
    scenarios = all.filter((s) => wanted.includes(s.name));
  } catch (err) {
    // The target may hold a temp folder already: release it before saying what is wrong.
    await target.close();
    throw err;
  }
  let results: ScenarioResult[] = [];
  // Ctrl-C: power the target off and remove its temp files before exiting.
  const onSignal = () => void target.close().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    results = await runScenarios(target, scenarios, (r) => {
      const mark = r.status === 'passed' ? 'ok  ' : r.status === 'failed' ? 'FAIL' : 'skip';
      process.stderr.write(`${mark} ${target.name}: ${r.scenario} (${(r.ms / 1000).toFixed(1)} s)${r.notes.length ? ` — ${r.notes.join('; ')}` : ''}\n`);
      if (r.error) process.stderr.write(`     ${r.error.replace(/\n/g, '\n     ')}\n`);
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await target.close();
  }
  const report = flags.report;
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

/** A v86 or QEMU target for an image folder, checked to be an image for that emulator. */
function emulatorTarget(kind: string, image: string, name: string): { target: Target; manifest: { chain: string[]; layers?: { path: string }[] } } {
  const spec = TARGETS[kind]!;
  const manifestFile = path.join(image, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    throw new SkiffError(`no image in ${image}`, `build one: SKIFF_CONFIG=${spec.build} skiff configure compile (in the workspace whose images/out/ folder this is)`);
  }
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { bootMethod: string; chain: string[]; layers?: { path: string }[]; board?: { qemuMachine?: string } };
  // A board whose layer names a QEMU model of it boots in QEMU from its card image.
  const boardInQemu = kind === 'qemu' && Boolean(manifest.board?.qemuMachine);
  if (manifest.bootMethod !== spec.bootMethod && !boardInQemu) {
    throw new SkiffError(`${image} holds ${manifest.chain.join(',')} (boots with ${manifest.bootMethod}), not an image for --target ${kind}`, `build ${spec.build} in a workspace and pass it: SKIFF_WORKSPACE=<name> skiff test --target ${kind}`);
  }
  return { target: spec.make(image, name), manifest };
}
