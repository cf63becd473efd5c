import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../buildroot/context.ts';
import { SkiffError } from '../buildroot/errors.ts';
import { type MergedConfig, renderConfig, type Setting } from '../buildroot/fragments.ts';
import type { ArchInfo } from './arch.ts';
import { withCacheLock } from './cachelock.ts';
import { cacheDir } from './paths.ts';
import type { Progress } from './progress.ts';
import { run } from './run.ts';

export const KERNEL_SOURCE_PACKAGE = 'linux-source-6.1';
const SOURCE_TARBALL = `/usr/src/${KERNEL_SOURCE_PACKAGE}.tar.xz`;

export interface KernelPlan {
  arch: ArchInfo;
  /** A config make target of the kernel tree: tinyconfig, defconfig, multi_v7_defconfig, ... */
  defconfig: string;
  image: string;
  dtbs: string[];
  fragments: MergedConfig;
}

export interface KernelBuild {
  image: string;
  dtbs: string[];
  config: string;
  release: string;
  sourceVersion: string;
  configSha256: string;
  cached: boolean;
  /** Symbols the fragments asked for that the kernel's Kconfig turned off or changed. */
  dropped: string[];
}

const sha256 = (data: string | Buffer) => crypto.createHash('sha256').update(data).digest('hex');
const srcArch = (a: ArchInfo) => (a.kernelArch === 'i386' || a.kernelArch === 'x86_64' ? 'x86' : a.kernelArch);

export async function kernelSourceVersion(): Promise<string> {
  if (!fs.existsSync(SOURCE_TARBALL)) {
    throw new SkiffError(`${SOURCE_TARBALL} is missing`, `apt-get install ${KERNEL_SOURCE_PACKAGE} (or run \`skiff doctor --fix\`)`);
  }
  return (await run('dpkg-query', ['-W', '-f=${Version}', KERNEL_SOURCE_PACKAGE])).trim();
}

/** Extracts Debian's kernel source once per version; a half-done extraction is never used. */
async function kernelSource(ctx: Context, version: string, progress: Progress): Promise<string> {
  const dir = path.join(cacheDir(ctx), 'kernel', `source-${version}`);
  return withCacheLock(dir, (pid) => progress.tick(`waiting for process ${pid}, which is extracting the kernel source`, 0, true), () => extractSource(dir, version, progress));
}

async function extractSource(dir: string, version: string, progress: Progress): Promise<string> {
  const tree = path.join(dir, KERNEL_SOURCE_PACKAGE);
  if (fs.existsSync(path.join(dir, '.complete'))) return tree;
  progress.tick(`extracting ${SOURCE_TARBALL} (once per kernel version)`, 0, true);
  fs.rmSync(dir, { recursive: true, force: true });
  const tmp = `${dir}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  await run('tar', ['-xJf', SOURCE_TARBALL, '-C', tmp]);
  fs.writeFileSync(path.join(tmp, '.complete'), version);
  fs.renameSync(tmp, dir);
  return tree;
}

/** Every symbol any Kconfig file of the tree defines, to tell a typo from a symbol the config dropped. */
function kconfigSymbols(tree: string): Set<string> {
  const cache = path.join(tree, '..', 'kconfig-symbols.txt');
  if (fs.existsSync(cache)) return new Set(fs.readFileSync(cache, 'utf8').split('\n'));
  const symbols = new Set<string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.startsWith('Kconfig')) {
        for (const m of fs.readFileSync(p, 'utf8').matchAll(/^\s*(?:menu)?config\s+([A-Za-z0-9_]+)/gm)) symbols.add(`CONFIG_${m[1]}`);
      }
    }
  };
  walk(tree);
  fs.writeFileSync(cache, [...symbols].join('\n'));
  return symbols;
}

function readDotConfig(file: string): Map<string, string | null> {
  const values = new Map<string, string | null>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) values.set(set[1]!, set[2]!);
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) values.set(unset[1]!, null);
  }
  return values;
}

/** Compares what the layers asked for with what Kconfig kept: unknown symbols fail, dropped ones are reported. */
function checkSymbols(asked: MergedConfig, finalConfig: string, tree: string): string[] {
  const got = readDotConfig(finalConfig);
  const known = kconfigSymbols(tree);
  const where = (s: Setting) => `${s.layer} (${s.file}:${s.line})`;
  const unknown = [...asked.final.values()].filter((s) => !known.has(s.symbol));
  if (unknown.length > 0) {
    throw new SkiffError(
      `the kernel has no such option: ${unknown.map((s) => `${s.symbol} from ${where(s)}`).join(', ')}`,
      'check the spelling against the kernel\'s Kconfig, or remove the line from the fragment',
    );
  }
  const dropped: string[] = [];
  for (const s of asked.final.values()) {
    const value = got.get(s.symbol) ?? null;
    const wantOff = s.value === null || s.value === 'n';
    if (wantOff ? value !== null && value !== 'n' : value !== s.value) {
      dropped.push(`${s.symbol}=${s.value ?? 'n'} from ${where(s)} became ${value ?? 'not set'}`);
    }
  }
  return dropped;
}

/** Builds (or reuses) the kernel for a plan. Reuse is keyed by source version, arch, base config and fragments. */
export async function buildKernel(ctx: Context, plan: KernelPlan, progress: Progress): Promise<KernelBuild> {
  const sourceVersion = await kernelSourceVersion();
  const fragmentText = renderConfig(plan.fragments);
  const key = sha256(JSON.stringify([sourceVersion, plan.arch.kernelArch, plan.arch.crossCompile, plan.defconfig, plan.image, plan.dtbs, fragmentText])).slice(0, 16);
  const buildDir = path.join(cacheDir(ctx), 'kernel', `build-${plan.arch.debian}-${key}`);
  return withCacheLock(buildDir, (pid) => progress.tick(`waiting for process ${pid}, which is building the same kernel`, 0, true), () =>
    compileKernel(ctx, plan, progress, { sourceVersion, fragmentText, buildDir }),
  );
}

async function compileKernel(
  ctx: Context,
  plan: KernelPlan,
  progress: Progress,
  { sourceVersion, fragmentText, buildDir }: { sourceVersion: string; fragmentText: string; buildDir: string },
): Promise<KernelBuild> {
  const outDir = path.join(buildDir, 'out');
  const resultFile = path.join(outDir, 'result.json');
  if (fs.existsSync(resultFile)) {
    const cached = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as KernelBuild;
    progress.done(`reusing kernel ${cached.release} (source and merged config unchanged)`);
    return { ...cached, cached: true };
  }
  const tree = await kernelSource(ctx, sourceVersion, progress);
  fs.mkdirSync(buildDir, { recursive: true });
  const log = path.join(buildDir, 'build.log');
  const env = {
    ...process.env,
    KBUILD_BUILD_TIMESTAMP: new Date(Number(ctx.env.SOURCE_DATE_EPOCH ?? 0) * 1000).toUTCString(),
    KBUILD_BUILD_USER: 'skiff',
    KBUILD_BUILD_HOST: 'skiff',
    KBUILD_BUILD_VERSION: '1',
  };
  const make = (targets: string[], onLine?: (l: string) => void) =>
    run('make', ['-C', tree, `O=${buildDir}`, `ARCH=${plan.arch.kernelArch}`, `CROSS_COMPILE=${plan.arch.crossCompile}`, ...targets], { env, logFile: log, onLine });

  progress.tick(`configuring: ${plan.defconfig} + ${plan.fragments.final.size} options from the layers`, 0, true);
  await make([plan.defconfig]);
  fs.appendFileSync(path.join(buildDir, '.config'), '\n' + fragmentText);
  await make(['olddefconfig']);
  const dropped = checkSymbols(plan.fragments, path.join(buildDir, '.config'), tree);
  for (const d of dropped) progress.tick(`warning: kernel dropped ${d}`, 0, true);

  const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
  let compiled = 0;
  const targets = [plan.image, ...(plan.dtbs.length > 0 ? plan.dtbs.map((d) => d.replace(/\.dts$/, '.dtb')) : [])];
  await make([`-j${jobs}`, ...targets], (line) => {
    if (/^\s+(CC|AS|LD|AR)\s/.test(line)) compiled++;
    progress.tick(`compiling the kernel: ${compiled} objects`);
  });
  const release = (await make(['-s', 'kernelrelease'])).trim().split('\n').pop()!;

  const tmpOut = `${outDir}.partial`;
  fs.rmSync(tmpOut, { recursive: true, force: true });
  fs.mkdirSync(tmpOut, { recursive: true });
  const bootDir = path.join(buildDir, 'arch', srcArch(plan.arch), 'boot');
  fs.copyFileSync(path.join(bootDir, plan.image), path.join(tmpOut, plan.image));
  const dtbs: string[] = [];
  for (const dtb of plan.dtbs) {
    const name = dtb.replace(/\.dts$/, '.dtb');
    const dest = path.join(tmpOut, 'dtbs', name);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(path.join(bootDir, 'dts', name), dest);
    dtbs.push(path.join(outDir, 'dtbs', name));
  }
  fs.copyFileSync(path.join(buildDir, '.config'), path.join(tmpOut, 'config'));
  const result: KernelBuild = {
    image: path.join(outDir, plan.image),
    dtbs,
    config: path.join(outDir, 'config'),
    release,
    sourceVersion,
    configSha256: sha256(fs.readFileSync(path.join(buildDir, '.config'))),
    cached: false,
    dropped,
  };
  fs.writeFileSync(path.join(tmpOut, 'result.json'), JSON.stringify(result, null, 2));
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(tmpOut, outDir);
  progress.done(`kernel ${release} built: ${plan.image} ${(fs.statSync(result.image).size / 1e6).toFixed(1)} MB`);
  return result;
}
