import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../layers/context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { type MergedConfig, renderConfig, type Setting } from '../layers/fragments.ts';
import type { ArchInfo } from './arch.ts';
import { withCacheLock } from './cachelock.ts';
import { cacheDir } from '../../images/paths.ts';
import type { Progress } from './progress.ts';
import { run } from './run.ts';

export const KERNEL_SOURCE_PACKAGE = 'linux-source-6.1';
const SOURCE_TARBALL = `/usr/src/${KERNEL_SOURCE_PACKAGE}.tar.xz`;

export interface KernelPlan {
  arch: ArchInfo;
  /** Layers' kernel_patches/ folders, in stack order; their *.patch files apply in name order. */
  patches?: { layer: string; path: string }[];
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

interface KernelPatch {
  layer: string;
  file: string;
  text: string;
}

/** The *.patch files of the layers' kernel_patches/ folders: stack order, then name order. */
function readPatches(dirs: { layer: string; path: string }[] = []): KernelPatch[] {
  return dirs.flatMap((d) =>
    fs
      .readdirSync(d.path)
      .filter((f) => f.endsWith('.patch'))
      .sort()
      .map((f) => ({ layer: d.layer, file: path.join(d.path, f), text: fs.readFileSync(path.join(d.path, f), 'utf8') })),
  );
}

/**
 * The source tree with the layers' patches applied: a hard-linked copy of the extracted source
 * (GNU patch writes changed files anew, so the shared tree is never touched), one per patch set.
 */
async function patchedSource(ctx: Context, version: string, patches: KernelPatch[], progress: Progress): Promise<string> {
  const base = await kernelSource(ctx, version, progress);
  if (patches.length === 0) return base;
  const key = sha256(JSON.stringify(patches.map((p) => p.text))).slice(0, 16);
  const dir = path.join(cacheDir(ctx), 'kernel', `source-${version}-patched-${key}`);
  return withCacheLock(dir, (pid) => progress.tick(`waiting for process ${pid}, which is patching the kernel source`, 0, true), async () => {
    const tree = path.join(dir, KERNEL_SOURCE_PACKAGE);
    if (fs.existsSync(path.join(dir, '.complete'))) return tree;
    const tmp = `${dir}.partial`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    await run('cp', ['-al', base, path.join(tmp, KERNEL_SOURCE_PACKAGE)]);
    for (const p of patches) {
      progress.tick(`patching the kernel: ${p.layer}/kernel_patches/${path.basename(p.file)}`, 0, true);
      try {
        await run('patch', ['-p1', '--forward', '--batch', '--no-backup-if-mismatch', '-d', path.join(tmp, KERNEL_SOURCE_PACKAGE), '-i', p.file]);
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw new SkiffError(
          `${p.file} (layer ${p.layer}) does not apply to ${KERNEL_SOURCE_PACKAGE} ${version}: ${(err as Error).message.split('\n').slice(-4).join(' ')}`,
          'refresh the patch against this kernel source, or remove it from the layer\'s kernel_patches/',
        );
      }
    }
    fs.writeFileSync(path.join(tmp, '.complete'), patches.map((p) => p.file).join('\n'));
    fs.renameSync(tmp, dir);
    return tree;
  });
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

/** The kernel configuration the layers ask for, as Kconfig completes it, and what Kconfig changed on the way. */
interface FinalConfig {
  /** The complete .config (a file in the cache). */
  file: string;
  sha256: string;
  dropped: string[];
}

/**
 * Builds (or reuses) the kernel for a plan. Builds are keyed by the final .config (with the source,
 * its patches, the compiler and the image target), not by how the layers spelled it: two stacks
 * whose fragments differ only in order, or in options the base config already had, share one
 * build (the suite's test kernels rely on this), and boards of one family (and a QEMU layer with
 * the same config) share one kernel, each adding the device trees it names to that build.
 */
export async function buildKernel(ctx: Context, plan: KernelPlan, progress: Progress): Promise<KernelBuild> {
  const sourceVersion = await kernelSourceVersion();
  const fragmentText = renderConfig(plan.fragments);
  const patches = readPatches(plan.patches);
  const patchKey = patches.length > 0 ? [patches.map((p) => p.text)] : [];
  const tree = () => patchedSource(ctx, sourceVersion, patches, progress);
  const config = await finalConfig(ctx, plan, { sourceVersion, fragmentText, patchKey, tree }, progress);
  const key = sha256(JSON.stringify([sourceVersion, plan.arch.kernelArch, plan.arch.crossCompile, plan.image, config.sha256, ...patchKey])).slice(0, 16);
  const buildDir = path.join(cacheDir(ctx), 'kernel', `build-${plan.arch.debian}-${key}`);
  return withCacheLock(buildDir, (pid) => progress.tick(`waiting for process ${pid}, which is building the same kernel`, 0, true), async () => {
    const built = await compileKernel(ctx, plan, progress, { sourceVersion, config, buildDir, tree });
    // Dropped options are the asking stack's own, not those of the stack that built this kernel first.
    return { ...built, dropped: config.dropped, dtbs: await deviceTrees(ctx, plan, buildDir, tree, progress) };
  });
}

/**
 * The final .config for the layers' request (base config + fragments, completed by olddefconfig),
 * worked out once per request and remembered by a key of the request itself, so a rebuild with
 * unchanged fragments needs neither the source tree nor Kconfig.
 */
async function finalConfig(
  ctx: Context,
  plan: KernelPlan,
  { sourceVersion, fragmentText, patchKey, tree: source }: { sourceVersion: string; fragmentText: string; patchKey: string[][]; tree: () => Promise<string> },
  progress: Progress,
): Promise<FinalConfig> {
  const key = sha256(JSON.stringify([sourceVersion, plan.arch.kernelArch, plan.arch.crossCompile, plan.defconfig, plan.image, fragmentText, ...patchKey])).slice(0, 16);
  const dir = path.join(cacheDir(ctx), 'kernel', `config-${plan.arch.debian}-${key}`);
  const read = (): FinalConfig => ({ file: path.join(dir, 'config'), ...(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as Omit<FinalConfig, 'file'>) });
  if (fs.existsSync(path.join(dir, 'result.json'))) return read();
  return withCacheLock(dir, (pid) => progress.tick(`waiting for process ${pid}, which is configuring the same kernel`, 0, true), async () => {
    if (fs.existsSync(path.join(dir, 'result.json'))) return read();
    const tree = await source();
    // Kconfig runs in a scratch build folder; only the resulting .config is kept.
    const work = `${dir}.partial`;
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    const make = kbuild(ctx, plan, tree, work);
    progress.tick(`configuring: ${plan.defconfig} + ${plan.fragments.final.size} options from the layers`, 0, true);
    await make([plan.defconfig]);
    fs.appendFileSync(path.join(work, '.config'), '\n' + fragmentText);
    await make(['olddefconfig']);
    const dropped = checkSymbols(plan.fragments, path.join(work, '.config'), tree);
    for (const d of dropped) progress.tick(`warning: kernel dropped ${d}`, 0, true);
    const text = fs.readFileSync(path.join(work, '.config'));
    const tmp = `${dir}.tmp`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    fs.writeFileSync(path.join(tmp, 'config'), text);
    fs.writeFileSync(path.join(tmp, 'result.json'), JSON.stringify({ sha256: sha256(text), dropped }, null, 2));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    fs.rmSync(work, { recursive: true, force: true });
    return read();
  });
}

/** `make` in the kernel tree for this plan's build folder, with reproducible build stamps; output goes to build.log. */
function kbuild(ctx: Context, plan: KernelPlan, tree: string, buildDir: string) {
  const env = {
    ...process.env,
    KBUILD_BUILD_TIMESTAMP: new Date(Number(ctx.env.SOURCE_DATE_EPOCH ?? 0) * 1000).toUTCString(),
    KBUILD_BUILD_USER: 'skiff',
    KBUILD_BUILD_HOST: 'skiff',
    KBUILD_BUILD_VERSION: '1',
  };
  const logFile = path.join(buildDir, 'build.log');
  return (targets: string[], onLine?: (l: string) => void) =>
    run('make', ['-C', tree, `O=${buildDir}`, `ARCH=${plan.arch.kernelArch}`, `CROSS_COMPILE=${plan.arch.crossCompile}`, ...targets], { env, logFile, onLine });
}

/** The plan's device trees, compiled in the kernel's build tree on first use and kept next to the image. */
async function deviceTrees(ctx: Context, plan: KernelPlan, buildDir: string, source: () => Promise<string>, progress: Progress): Promise<string[]> {
  const names = plan.dtbs.map((d) => d.replace(/\.dts$/, '.dtb'));
  const outDir = path.join(buildDir, 'out', 'dtbs');
  const missing = names.filter((n) => !fs.existsSync(path.join(outDir, n)));
  if (missing.length > 0) {
    const make = kbuild(ctx, plan, await source(), buildDir);
    progress.tick(`device trees: ${missing.join(', ')}`, 0, true);
    try {
      await make(missing);
    } catch (err) {
      throw new SkiffError(`the kernel cannot build ${missing.join(', ')}: ${(err as Error).message.split('\n').slice(-3).join(' ')}`, 'check KERNEL_DTBS against arch/*/boot/dts of linux-source-6.1 (vendor subfolder included for arm64, e.g. rockchip/rk3328-rock64.dtb)');
    }
    for (const n of missing) {
      fs.mkdirSync(path.dirname(path.join(outDir, n)), { recursive: true });
      // Copied under a temporary name first: a half-copied tree is never taken for a built one.
      fs.copyFileSync(path.join(buildDir, 'arch', srcArch(plan.arch), 'boot', 'dts', n), path.join(outDir, `${n}.partial`));
      fs.renameSync(path.join(outDir, `${n}.partial`), path.join(outDir, n));
    }
  }
  return names.map((n) => path.join(outDir, n));
}

async function compileKernel(
  ctx: Context,
  plan: KernelPlan,
  progress: Progress,
  { sourceVersion, config, buildDir, tree: source }: { sourceVersion: string; config: FinalConfig; buildDir: string; tree: () => Promise<string> },
): Promise<Omit<KernelBuild, 'dtbs' | 'dropped'>> {
  const outDir = path.join(buildDir, 'out');
  const resultFile = path.join(outDir, 'result.json');
  if (fs.existsSync(resultFile)) {
    const cached = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as Omit<KernelBuild, 'dtbs' | 'dropped'>;
    progress.done(`reusing kernel ${cached.release} (same source and final config)`);
    // The files are beside result.json: a cache folder copied or moved elsewhere still works.
    return { ...cached, image: path.join(outDir, path.basename(cached.image)), config: path.join(outDir, 'config'), cached: true };
  }
  const tree = await source();
  fs.mkdirSync(buildDir, { recursive: true });
  const make = kbuild(ctx, plan, tree, buildDir);

  fs.copyFileSync(config.file, path.join(buildDir, '.config'));
  await make(['olddefconfig']);

  const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
  let compiled = 0;
  await make([`-j${jobs}`, plan.image], (line) => {
    if (/^\s+(CC|AS|LD|AR)\s/.test(line)) compiled++;
    progress.tick(`compiling the kernel: ${compiled} objects`);
  });
  const release = (await make(['-s', 'kernelrelease'])).trim().split('\n').pop()!;

  const tmpOut = `${outDir}.partial`;
  fs.rmSync(tmpOut, { recursive: true, force: true });
  fs.mkdirSync(tmpOut, { recursive: true });
  const bootDir = path.join(buildDir, 'arch', srcArch(plan.arch), 'boot');
  fs.copyFileSync(path.join(bootDir, plan.image), path.join(tmpOut, plan.image));
  fs.copyFileSync(path.join(buildDir, '.config'), path.join(tmpOut, 'config'));
  const result: Omit<KernelBuild, 'dtbs' | 'dropped'> = {
    image: path.join(outDir, plan.image),
    config: path.join(outDir, 'config'),
    release,
    sourceVersion,
    configSha256: sha256(fs.readFileSync(path.join(buildDir, '.config'))),
    cached: false,
  };
  fs.writeFileSync(path.join(tmpOut, 'result.json'), JSON.stringify(result, null, 2));
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(tmpOut, outDir);
  progress.done(`kernel ${release} built: ${plan.image} ${(fs.statSync(result.image).size / 1e6).toFixed(1)} MB`);
  return result;
}
