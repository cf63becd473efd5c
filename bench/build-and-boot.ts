// npm run bench: prints the build and boot figures DESIGN.md sets targets for. Not a test: it
// measures, and says where a figure misses its target. `--quick` skips the clean build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Console } from '../harness/console.ts';
import { QemuMachine } from '../harness/qemu.ts';
import { runScenarios } from '../harness/run.ts';
import { BUILTIN_SCENARIOS } from '../harness/scenarios.ts';
import { sshKeys } from '../harness/ssh-scenarios.ts';
import { QemuTarget } from '../harness/targets/qemu.ts';
import { V86Target } from '../harness/targets/v86.ts';
import { V86Machine } from '../emulator/machine.ts';
import { loadImageDir, nodeWasmPath } from '../emulator/node-image.ts';
import { PROJECT_DIR } from '../buildroot/layers/context.ts';
import { BOOT_MARKER_LINE, bootMarker } from '../images/boot-marker.ts';
import { outDir } from '../images/paths.ts';

const quick = process.argv.includes('--quick');

async function medianRoundTrip(con: Console): Promise<string> {
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await con.run('true');
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[10]!.toFixed(0);
}
const rows: [string, string, string][] = [];
const report = (what: string, value: string, target = '') => {
  rows.push([what, value, target]);
  console.error(`  ${what}: ${value}${target ? ` (target ${target})` : ''}`);
};

function skiff(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [path.join(PROJECT_DIR, 'bin/skiff.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`skiff ${args.join(' ')} failed`);
  return (Date.now() - t0) / 1000;
}

const out = (workspace: string) => outDir({ rootDir: PROJECT_DIR, workspace });
const mb = (file: string) => `${(fs.statSync(file).size / 1e6).toFixed(2)} MB`;

console.error('Building browser/v86 ...');
if (!quick) {
  // A clean build: an empty cache, so the kernel source is unpacked and the kernel compiled.
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-cache-'));
  const s = skiff(['configure', 'compile'], { SKIFF_CONFIG: 'browser/v86', SKIFF_WORKSPACE: 'bench-clean', SKIFF_CACHE_DIR: cache });
  report('clean build of browser/v86 (kernel included)', `${s.toFixed(0)} s`, '≤ 360 s');
  fs.rmSync(cache, { recursive: true, force: true });
}
skiff(['configure', 'compile'], { SKIFF_CONFIG: 'browser/v86', SKIFF_WORKSPACE: 'bench' });
const extra = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-layer-'));
fs.mkdirSync(path.join(extra, 'bench/touch/root_overlay/etc'), { recursive: true });
fs.writeFileSync(path.join(extra, 'bench/touch/root_overlay/etc/bench'), '1\n');
const env = { SKIFF_CONFIG: 'browser/v86,bench/touch', SKIFF_WORKSPACE: 'bench-touch', SKIFF_EXTRA_CONFIGS_PATH: extra };
skiff(['configure', 'compile'], env);
fs.writeFileSync(path.join(extra, 'bench/touch/root_overlay/etc/bench'), '2\n');
report('rebuild after changing one root_overlay file', `${skiff(['compile'], env).toFixed(1)} s`, '≤ 10 s');
report('kernel (bzImage)', mb(path.join(out('bench'), 'bzImage')));
report('initramfs (zstd)', mb(path.join(out('bench'), 'initramfs.cpio.zst')));

console.error('Booting browser/v86 in v86 under Node ...');
for (const label of ['blank persist disk (formats it)', 'existing persist disk']) {
  const disk: ArrayBuffer = (globalThis as { benchDisk?: ArrayBuffer }).benchDisk ?? new ArrayBuffer(64 * 1024 * 1024);
  (globalThis as { benchDisk?: ArrayBuffer }).benchDisk = disk;
  const t0 = Date.now();
  const machine = new V86Machine({ image: loadImageDir(out('bench')), disk, wasmPath: nodeWasmPath() });
  const con = new Console(machine);
  const m = bootMarker(await con.waitFor(BOOT_MARKER_LINE, 180_000));
  report(`v86/Node boot to SKIFF_READY, ${label}`, `${((Date.now() - t0) / 1000).toFixed(1)} s wall, ${m.guestSeconds} s guest uptime`, '≤ 5 s');
  if (label.startsWith('existing')) {
    await con.run('true');
    report('v86 serial round trip of run("true"), median of 20', `${await medianRoundTrip(con)} ms`, '≤ 50 ms');
  } else {
    await con.run('sync');
  }
  await machine.powerOff();
}

const qemuOut = out('bench-qemu');
console.error('Building and booting virt/qemu ...');
skiff(['configure', 'compile'], { SKIFF_CONFIG: 'virt/qemu', SKIFF_WORKSPACE: 'bench-qemu' });
const disk = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-qemu-')), 'persist.img');
for (const label of ['blank persist disk', 'existing persist disk']) {
  const t0 = Date.now();
  const q = new QemuMachine({ imageDir: qemuOut, disk });
  const con = new Console(q);
  const m = bootMarker(await con.waitFor(BOOT_MARKER_LINE, 180_000));
  report(`QEMU (TCG) boot to SKIFF_READY, ${label}`, `${((Date.now() - t0) / 1000).toFixed(1)} s wall, ${m.guestSeconds} s guest uptime`);
  if (label === 'existing persist disk') report('QEMU serial round trip of run("true"), median of 20', `${await medianRoundTrip(con)} ms`);
  await con.run('sync');
  await q.powerOff();
}

// The harness scenarios on each emulator target, timed one by one.
for (const make of [() => new V86Target('v86', out('bench')), () => new QemuTarget('qemu', qemuOut)]) {
  const target = make();
  console.error(`Running the harness scenarios on ${target.name} ...`);
  try {
    await runScenarios(target, [...BUILTIN_SCENARIOS, sshKeys], (r) => report(`scenario ${r.scenario} on ${target.name}`, `${r.status}, ${(r.ms / 1000).toFixed(1)} s`));
  } finally {
    await target.close();
  }
}

console.log('\n| measurement | value | target |\n| --- | --- | --- |');
for (const [what, value, target] of rows) console.log(`| ${what} | ${value} | ${target} |`);
process.exit(0);
