// `npm run build:all-boards`: builds every board layer the debian backend accepts, one workspace
// each (all-<family>-<board>), and prints what built, its size and how long it took. Hours on a
// small machine (an arm64 defconfig kernel alone is tens of minutes on 2 cores), so not in CI.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { contextFromEnv, PROJECT_DIR } from './layers/context.ts';
import { boardRows } from './boards.ts';
import { readManifest } from '../images/manifest.ts';
import { outDir, outRoot } from '../images/paths.ts';

interface Outcome {
  layer: string;
  arch: string;
  result: 'built' | 'failed' | 'skipped';
  seconds: number;
  size: string;
  note: string;
}

const USAGE = `usage: npm run build:all-boards [-- --only <layer,...>] [-- --list]

Builds every board layer whose offline status is yes into images/out/all-<layer>/, one after the
other, keeps going past failures, and prints a table (also written to images/out/all-boards.json).
  --only a/b,c/d   build just these layers
  --list           print what would be built and stop
`;

function parseArgs(argv: string[]): { only?: Set<string>; list: boolean } {
  const out: { only?: Set<string>; list: boolean } = { list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') out.only = new Set((argv[++i] ?? '').split(',').filter(Boolean));
    else if (a === '--list') out.list = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else {
      process.stderr.write(`build:all-boards: unknown argument "${a}"\n\n${USAGE}`);
      process.exit(2);
    }
  }
  return out;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** The card image for a board, else kernel plus initramfs: what a user would write or boot. */
function sizeOf(dir: string): string {
  const manifest = readManifest(dir);
  if (manifest.board) {
    const boot = Object.entries(manifest.outputs).filter(([name]) => name.startsWith('boot/')).reduce((n, [, o]) => n + o.size, 0);
    return `card ${mb(manifest.outputs[manifest.board.card]!.size)} (boot files ${mb(boot)})`;
  }
  return `${mb(Object.values(manifest.outputs).reduce((n, o) => n + o.size, 0))} of images`;
}

function build(layer: string, workspace: string, log: string): Promise<number | null> {
  return new Promise((resolve) => {
    const out = fs.openSync(log, 'w');
    const child = spawn(process.execPath, [path.join(PROJECT_DIR, 'bin/skiff.js'), 'configure', 'compile'], {
      env: { ...process.env, SKIFF_CONFIG: layer, SKIFF_WORKSPACE: workspace },
      stdio: ['ignore', out, out],
    });
    child.on('close', (code) => {
      fs.closeSync(out);
      resolve(code);
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const ctx = contextFromEnv();
  const rows = boardRows(ctx).filter((r) => !args.only || args.only.has(r.layer));
  if (args.only) {
    const unknown = [...args.only].filter((l) => !rows.some((r) => r.layer === l));
    if (unknown.length > 0) {
      process.stderr.write(`build:all-boards: not a board layer: ${unknown.join(', ')} (see \`skiff boards\`)\n`);
      process.exit(2);
    }
  }
  const buildable = rows.filter((r) => r.offline === 'yes');
  if (args.list) {
    for (const r of rows) process.stdout.write(`${r.offline === 'yes' ? 'build' : 'skip '}  ${r.layer}${r.offline === 'yes' ? '' : `  (${r.offline})`}\n`);
    return;
  }
  const logDir = path.join(outRoot(ctx.rootDir), 'all-boards-logs');
  fs.mkdirSync(logDir, { recursive: true });
  const outcomes: Outcome[] = rows.filter((r) => r.offline !== 'yes').map((r) => ({ layer: r.layer, arch: r.arch, result: 'skipped', seconds: 0, size: '', note: r.offline }));
  for (const [i, r] of buildable.entries()) {
    const workspace = `all-${r.layer.replace(/\//g, '-')}`;
    const log = path.join(logDir, `${workspace}.log`);
    process.stderr.write(`[${i + 1}/${buildable.length}] ${r.layer} (${r.arch}, ${r.kernel}) → images/out/${workspace}/, log ${path.relative(ctx.rootDir, log)}\n`);
    const started = Date.now();
    const code = await build(r.layer, workspace, log);
    const seconds = Math.round((Date.now() - started) / 1000);
    if (code === 0) {
      outcomes.push({ layer: r.layer, arch: r.arch, result: 'built', seconds, size: sizeOf(outDir({ rootDir: ctx.rootDir, workspace })), note: '' });
    } else {
      const last = fs.readFileSync(log, 'utf8').trim().split('\n').filter((l) => /error|fix:/.test(l)).slice(-2).join(' / ');
      outcomes.push({ layer: r.layer, arch: r.arch, result: 'failed', seconds, size: '', note: last || `exit ${code}` });
    }
    process.stderr.write(`    ${outcomes.at(-1)!.result} in ${seconds} s\n`);
  }
  outcomes.sort((a, b) => (a.layer < b.layer ? -1 : 1));
  const head = ['LAYER', 'ARCH', 'RESULT', 'TIME', 'SIZE', 'NOTE'];
  const table = [head, ...outcomes.map((o) => [o.layer, o.arch, o.result, o.seconds ? `${o.seconds} s` : '', o.size, o.note])];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  process.stdout.write(table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('')).join('\n') + '\n');
  fs.writeFileSync(path.join(outRoot(ctx.rootDir), 'all-boards.json'), JSON.stringify(outcomes, null, 2) + '\n');
  if (outcomes.some((o) => o.result === 'failed')) process.exitCode = 1;
}

await main();
