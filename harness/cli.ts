import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../buildroot/context.ts';
import { SkiffError } from '../buildroot/errors.ts';
import { outDir } from '../images/paths.ts';
import { junit, markdown } from './report.ts';
import { runScenarios, type ScenarioResult } from './run.ts';
import { BUILTIN_SCENARIOS } from './scenarios.ts';
import { sshKeys } from './ssh-scenarios.ts';
import type { Target } from './target.ts';
import { QemuTarget } from './targets/qemu.ts';
import { V86Target } from './targets/v86.ts';

const TARGETS: Record<string, { bootMethod: string; make: (image: string) => Target; build: string }> = {
  v86: { bootMethod: 'v86', make: (image) => new V86Target('v86', image), build: 'browser/v86' },
  qemu: { bootMethod: 'qemu', make: (image) => new QemuTarget('qemu', image), build: 'virt/qemu' },
};

/** `skiff test --target v86|qemu [--scenario a,b] [--report dir] [--image dir]`. */
export async function testCommand(ctx: Context, flags: Map<string, string | true>): Promise<number> {
  const kind = flags.get('--target');
  if (typeof kind !== 'string' || !TARGETS[kind]) {
    throw new SkiffError(`--target must be one of: ${Object.keys(TARGETS).join(', ')}`, 'e.g. `skiff test --target v86`');
  }
  const spec = TARGETS[kind]!;
  const image = path.resolve(typeof flags.get('--image') === 'string' ? (flags.get('--image') as string) : outDir(ctx));
  const manifestFile = path.join(image, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    throw new SkiffError(`no image in ${image}`, `build one: SKIFF_CONFIG=${spec.build} SKIFF_WORKSPACE=${ctx.workspace} skiff configure compile`);
  }
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { bootMethod: string; chain: string[] };
  if (manifest.bootMethod !== spec.bootMethod) {
    throw new SkiffError(`${image} holds ${manifest.chain.join(',')} (boots with ${manifest.bootMethod}), not an image for --target ${kind}`, `build ${spec.build} in a workspace and pass it: SKIFF_WORKSPACE=<name> skiff test --target ${kind}`);
  }
  const all = [...BUILTIN_SCENARIOS, sshKeys];
  const wanted = typeof flags.get('--scenario') === 'string' ? (flags.get('--scenario') as string).split(',') : all.map((s) => s.name);
  const unknown = wanted.filter((w) => !all.some((s) => s.name === w));
  if (unknown.length) throw new SkiffError(`unknown scenario ${unknown.join(', ')}`, `scenarios: ${all.map((s) => s.name).join(', ')}`);
  const scenarios = all.filter((s) => wanted.includes(s.name));

  const target = spec.make(image);
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
  const report = flags.get('--report');
  if (typeof report === 'string') {
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
