import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Context } from '../layers/context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { sha256File } from './apt.ts';
import type { ArchInfo } from './arch.ts';
import { withCacheLock } from './cachelock.ts';
import { cacheDir } from '../../images/paths.ts';
import type { Progress } from './progress.ts';
import { run } from './run.ts';
import { debianSources } from './sources.ts';

/**
 * Skiff Core on the build side: the device-side manager (Go, in the skiff/core layer's resources)
 * cross-compiled for the target, and the core root filesystems a layer asks for, made offline.
 */

/** Go's names for our Debian architectures; GO386=softfloat because v86's CPU is a Pentium III-class one. */
const GO_ARCH: Record<string, Record<string, string>> = {
  amd64: { GOARCH: 'amd64' },
  i386: { GOARCH: '386', GO386: 'softfloat' },
  arm64: { GOARCH: 'arm64' },
  armhf: { GOARCH: 'arm', GOARM: '7' },
  armel: { GOARCH: 'arm', GOARM: '5' },
  riscv64: { GOARCH: 'riscv64' },
};

/** Hash of a folder's files (names and contents), for cache keys. */
function treeHash(dir: string): string {
  const h = crypto.createHash('sha256');
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isFile()) h.update(name).update('\0').update(fs.readFileSync(p)).update('\0');
  }
  return h.digest('hex');
}

/** Builds the manager statically (no libc needed on the host) from `source`; cached by source and target. */
export async function buildCoreManager(ctx: Context, source: string, arch: ArchInfo, progress: Progress): Promise<string> {
  const goArch = GO_ARCH[arch.debian];
  if (!goArch) throw new SkiffError(`the Skiff Core manager has no Go target for ${arch.debian}`, `supported: ${Object.keys(GO_ARCH).join(', ')}`);
  if (!fs.existsSync(source)) throw new SkiffError(`the Skiff Core manager's source ${source} is missing`, 'restore configs/skiff/core/resources/skiff-core from git');
  const goVersion = (await run('go', ['version'])).trim();
  const key = crypto.createHash('sha256').update(JSON.stringify([treeHash(source), goArch, goVersion])).digest('hex').slice(0, 16);
  const dir = path.join(cacheDir(ctx), 'core', `manager-${arch.debian}-${key}`);
  const bin = path.join(dir, 'skiff-core');
  if (fs.existsSync(bin)) {
    progress.tick(`manager: cached (${arch.debian})`, 0, true);
    return bin;
  }
  fs.mkdirSync(dir, { recursive: true });
  progress.tick(`manager: go build for ${arch.debian} (${Object.entries(goArch).map(([k, v]) => `${k}=${v}`).join(' ')})`, 0, true);
  const tmp = `${bin}.partial-${process.pid}`;
  // GOPATH mode finds gopkg.in/yaml.v3 in Debian's golang-gopkg-yaml.v3-dev: no module download.
  await run('go', ['build', '-trimpath', '-ldflags', '-s -w -buildid=', '-o', tmp, '.'], {
    cwd: source,
    env: { ...process.env, ...goArch, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', CGO_ENABLED: '0', GOCACHE: path.join(cacheDir(ctx), 'core', 'gocache'), GOFLAGS: '' },
  });
  fs.renameSync(tmp, bin);
  return bin;
}

export interface CoreImage {
  /** The image name config.yaml refers to, e.g. skiffos/skiff-core-debian:bookworm. */
  name: string;
  /** Debian packages in the image, `name version`. */
  packages: string[];
  /**
   * For QEMU and boards: one squashfs file, attached as a disk and imported onto persist.
   * `onDevice`: a debootstrap --foreign tree, which the device finishes at its first import.
   */
  squashfs?: { file: string; path: string; size: number; sha256: string; onDevice: boolean };
  /** For v86: a 9p tree (v86's fs.json and content-named files) the browser fetches file by file. */
  share?: { root: string; dir: string; files: number; bytes: number };
}

/** What a layer's debian/config asks for: `CORE_IMAGE` made by `CORE_ROOTFS` (debootstrap or pull). */
export interface CoreRequest {
  image: string;
  recipe: string;
  suite: string;
  layerHint: string;
  /**
   * debootstrap's second stage runs on the device, at the image's first import: the build host
   * cannot run the target's programs (arm, riscv from an x86 host), or `CORE_ROOTFS_ON_DEVICE=yes`.
   */
  onDevice: boolean;
}

/** Keeps documentation, manual pages and translations out of every later install (as Debian's slim images do). */
const SLIM_EXCLUDES = `printf '%s\\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' 'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/locale.alias' > etc/dpkg/dpkg.cfg.d/skiff-core-slim
`;

/** What debootstrap copies from the build host: the image's own values instead. */
const HOST_FILES = `: > etc/machine-id
echo core > etc/hostname
`;

/** Run in the tree's root once the image is complete: downloads, host-specific files and documentation go. */
const SLIM = `set -e
rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* var/log/* debootstrap
${HOST_FILES}find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf usr/share/man/* usr/share/info/*
find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
${SLIM_EXCLUDES}`;

/** What the build does to a first-stage tree: the image's own host files, dpkg's excludes for the second stage. */
const ON_DEVICE_PREP = HOST_FILES + SLIM_EXCLUDES;

/** In a tree finished on the device: the script skiff-core runs (in the tree's root, then deletes) after debootstrap's second stage. */
export const ON_DEVICE_FINISH = 'skiff-core-finish.sh';

/** `name version` of the packages a --foreign tree's debootstrap/debpaths lists (…/name_version_arch.deb). */
export function debpathPackages(debpaths: string): string {
  return debpaths
    .trim()
    .split('\n')
    .map((line) => {
      const [name, file] = line.trim().split(/\s+/);
      const version = decodeURIComponent(path.basename(file ?? '').split('_')[1] ?? '?');
      return `${name} ${version}\n`;
    })
    .join('');
}

const sanitize = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_');

/** Programs the build host runs natively (no binfmt emulator registered here). */
const NATIVE: Record<string, string[]> = { x64: ['amd64', 'i386'], arm64: ['arm64', 'armhf', 'armel'] };

/** Says whether debootstrap's second stage runs on the device; fails fast (at plan time) when the image cannot be made here. */
export function checkCoreRequest(req: Omit<CoreRequest, 'onDevice'>, arch: ArchInfo, onDeviceSetting = '', bootMethod = ''): boolean {
  if (req.recipe !== 'debootstrap') {
    throw new SkiffError(
      `${req.layerHint}: the core image ${req.image} is made by "${req.recipe}", which needs network access to a container registry`,
      'offline, only core/debian (debootstrap) can be built; use SKIFF_CONFIG=...,skiff/core or core/debian',
    );
  }
  if (!['', 'yes', 'no'].includes(onDeviceSetting)) throw new SkiffError(`CORE_ROOTFS_ON_DEVICE=${onDeviceSetting} is neither yes nor no`, 'set CORE_ROOTFS_ON_DEVICE=yes to finish the core image on the device, or leave it unset');
  const native = (NATIVE[process.arch] ?? []).includes(arch.debian);
  if (!native && onDeviceSetting === 'no') {
    throw new SkiffError(`${req.layerHint}: CORE_ROOTFS_ON_DEVICE=no, but this ${process.arch} host cannot run ${arch.debian} programs for debootstrap's second stage`, 'unset CORE_ROOTFS_ON_DEVICE (the device then finishes the image on its first import)');
  }
  const onDevice = !native || onDeviceSetting === 'yes';
  if (onDevice && bootMethod === 'v86') throw new SkiffError(`${req.layerHint}: the browser reads the core image in place, so it cannot be finished on the device`, 'unset CORE_ROOTFS_ON_DEVICE for browser/v86');
  return onDevice;
}

/**
 * A Debian minbase root filesystem made by debootstrap for the target. debootstrap runs its second
 * stage in a chroot, so it runs here only when this host runs the target's programs; otherwise
 * (`req.onDevice`) the squashfs holds the first stage and the device finishes it. The build must be
 * root. The tree is kept in the cache; `format` says how it ships: a squashfs, or a v86 9p share.
 */
export async function buildCoreRootfs(ctx: Context, req: CoreRequest, arch: ArchInfo, epoch: number, format: 'squashfs' | 'share', progress: Progress): Promise<CoreImage> {
  if (process.getuid?.() !== 0) {
    throw new SkiffError('debootstrap (the core root filesystem) needs root: it chroots and creates device nodes', 'run the build as root (CI does), or drop skiff/core from SKIFF_CONFIG');
  }
  const source = debianSources(ctx.env, req.suite).find((s) => s.suite === req.suite && s.components.includes('main'));
  if (!source) throw new SkiffError(`no Debian archive for ${req.suite} among the host's apt sources`, 'set SKIFF_DEBIAN_MIRROR to a Debian mirror URL');
  const key = crypto.createHash('sha256').update(JSON.stringify(['minbase', SLIM, arch.debian, req.suite, source.uri, req.image, req.onDevice && ON_DEVICE_PREP])).digest('hex').slice(0, 16);
  const dir = path.join(cacheDir(ctx), 'core', `rootfs-${arch.debian}-${req.suite}-${req.onDevice ? 'stage1-' : ''}${key}`);
  const root = sanitize(req.image);
  const tree = path.join(dir, 'tree');
  const meta = path.join(dir, 'packages.txt');
  return withCacheLock(dir, (pid) => progress.tick(`waiting for build ${pid}, which makes the same core root filesystem`, 0, true), async () => {
    if (!fs.existsSync(path.join(dir, 'tree.complete'))) {
      // A half-made tree (interrupted build) is never reused: start again.
      // Packs of an earlier tree go with it.
      fs.mkdirSync(dir, { recursive: true });
      const stale = fs.readdirSync(dir).filter((e) => e === 'tree' || e.startsWith('share-') || /^\d+$/.test(e));
      await run('rm', ['-rf', ...stale.map((e) => path.join(dir, e))]);
      const foreign = req.onDevice ? ['--foreign'] : [];
      progress.tick(`debootstrap ${foreign.join(' ')} --variant=minbase ${req.suite} ${arch.debian} from ${source.uri}`, 0, true);
      await run('debootstrap', [...foreign, '--variant=minbase', `--arch=${arch.debian}`, req.suite, tree, source.uri], {
        onLine: (l) => progress.tick(`  ${l}`),
        logFile: path.join(dir, 'debootstrap.log'),
      });
      if (req.onDevice) {
        // The device runs the second stage (skiff-core, on import), then this script: what the
        // slimming below does here, and the dpkg excludes already apply to the second stage's unpacking.
        fs.writeFileSync(meta, debpathPackages(fs.readFileSync(path.join(tree, 'debootstrap', 'debpaths'), 'utf8')));
        fs.writeFileSync(path.join(tree, ON_DEVICE_FINISH), SLIM);
        await run('sh', ['-c', ON_DEVICE_PREP, '--'], { cwd: tree });
      } else {
        fs.writeFileSync(meta, await run('chroot', [tree, 'dpkg-query', '-W', '-f=${Package} ${Version}\n']));
        // What a download leaves behind, host-specific files, and (as Debian's slim container images
        // do) documentation, manual pages and translations, kept out of later installs too.
        await run('sh', ['-c', SLIM, '--'], { cwd: tree });
      }
      fs.writeFileSync(path.join(dir, 'tree.complete'), '');
    } else progress.tick(`core root filesystem ${req.image}: cached`, 0, true);
    const packages = fs.readFileSync(meta, 'utf8').trim().split('\n');
    // The packs carry SOURCE_DATE_EPOCH in their timestamps: one per epoch, so the cache never decides the bytes.
    if (format === 'share') return { name: req.image, packages, share: await packV86Share(tree, path.join(dir, `share-${epoch}`), root, epoch, progress) };
    const file = `${root}.squashfs`;
    const squashfs = path.join(dir, `${epoch}`, file);
    fs.mkdirSync(path.dirname(squashfs), { recursive: true });
    if (!fs.existsSync(squashfs)) {
      progress.tick(`mksquashfs ${file}`, 0, true);
      const tmp = `${squashfs}.partial`;
      fs.rmSync(tmp, { force: true });
      await run('mksquashfs', [tree, tmp, '-noappend', '-comp', 'xz', '-no-progress', '-mkfs-time', String(epoch), '-all-time', String(epoch), '-reproducible']);
      fs.renameSync(tmp, squashfs);
    }
    return { name: req.image, packages, squashfs: { file, path: squashfs, size: fs.statSync(squashfs).size, sha256: sha256File(squashfs), onDevice: req.onDevice } };
  });
}

/** An entry of v86's fs.json (format 3): name, size, mtime, mode, uid, gid, then children / file name / link target. */
type FsEntry = [string, number, number, number, number, number, FsEntry[] | string];

/**
 * Lists `tree` as fs.json entries, each distinct file content stored once in `flat`, zstd-compressed
 * and named by its sha256 (v86 fetches a file from there when the guest first reads it, and
 * decompresses `.zst` itself).
 */
async function shareEntries(tree: string, flat: string, epoch: number, progress: Progress): Promise<FsEntry[]> {
  fs.mkdirSync(flat, { recursive: true });
  const raw: string[] = [];
  const walk = (rel: string): FsEntry[] => {
    const entries: FsEntry[] = [];
    for (const name of fs.readdirSync(path.join(tree, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const full = path.join(tree, r);
      const st = fs.lstatSync(full);
      if (st.isDirectory()) {
        // The container gets its own /dev, /proc and /sys: their contents stay out.
        entries.push([name, 0, epoch, st.mode, st.uid, st.gid, ['dev', 'proc', 'sys'].includes(r) ? [] : walk(r)]);
      } else if (st.isSymbolicLink()) {
        entries.push([name, 0, epoch, st.mode, st.uid, st.gid, fs.readlinkSync(full)]);
      } else if (st.isFile()) {
        const data = fs.readFileSync(full);
        const sha = crypto.createHash('sha256').update(data).digest('hex');
        const stored = path.join(flat, sha);
        if (!fs.existsSync(stored) && !fs.existsSync(`${stored}.zst`)) {
          fs.writeFileSync(stored, data);
          raw.push(sha);
        }
        entries.push([name, st.size, epoch, st.mode, st.uid, st.gid, `${sha}.zst`]);
      }
      // Device nodes, fifos and sockets: none belong in a core image's files.
    }
    return entries;
  };
  const entries = walk('');
  for (let i = 0; i < raw.length; i += 500) {
    await run('zstd', ['-q', '-12', '--rm', '-f', ...raw.slice(i, i + 500)], { cwd: flat });
    progress.tick(`  compressed ${Math.min(i + 500, raw.length)} of ${raw.length} files`);
  }
  return entries;
}

const countFiles = (e: FsEntry[]): { files: number; bytes: number } =>
  e.reduce((a, x) => {
    if (Array.isArray(x[6])) {
      const c = countFiles(x[6]);
      return { files: a.files + c.files, bytes: a.bytes + c.bytes };
    }
    return x[6].endsWith('.zst') ? { files: a.files + 1, bytes: a.bytes + x[1] } : a;
  }, { files: 0, bytes: 0 });

/** The core root filesystem as v86's 9p file system: `fs.json` and `flat/`, cached with the tree. */
async function packV86Share(tree: string, out: string, root: string, epoch: number, progress: Progress): Promise<NonNullable<CoreImage['share']>> {
  const done = path.join(out, '.complete');
  if (!fs.existsSync(done)) {
    progress.tick(`v86 9p share of ${root}: fs.json and zstd-compressed files`, 0, true);
    await run('rm', ['-rf', out]);
    const fsroot: FsEntry[] = [[root, 0, epoch, 0o40755, 0, 0, await shareEntries(tree, path.join(out, 'flat'), epoch, progress)]];
    const totals = countFiles(fsroot);
    fs.writeFileSync(path.join(out, 'fs.json'), JSON.stringify({ fsroot, version: 3, size: totals.bytes }));
    fs.writeFileSync(path.join(out, 'totals.json'), JSON.stringify(totals));
    fs.writeFileSync(done, '');
  }
  const totals = JSON.parse(fs.readFileSync(path.join(out, 'totals.json'), 'utf8')) as { files: number; bytes: number };
  return { root, dir: out, ...totals };
}

/** Packages of the container runtime that the browser's host fetches from the share instead of booting with. */
export const CORE_RUNTIME_PACKAGES = ['crun'];

/** Folder on the share, next to the images, for programs the host fetches only when it needs them (crun). */
export const SHARE_RUNTIME_DIR = 'skiff-runtime';

/**
 * Writes the share an image ships: the core image's fs.json plus `runtime` (a staged tree, e.g.
 * crun and the libraries only it needs) under skiff-runtime/, its files added to `outDir/flat`.
 */
export async function writeShare(share: NonNullable<CoreImage['share']>, runtime: string | undefined, outDir: string, epoch: number, progress: Progress): Promise<void> {
  const table = JSON.parse(fs.readFileSync(path.join(share.dir, 'fs.json'), 'utf8')) as { fsroot: FsEntry[]; version: number; size: number };
  if (runtime) {
    const entries = await shareEntries(runtime, path.join(outDir, 'flat'), epoch, progress);
    table.fsroot.push([SHARE_RUNTIME_DIR, 0, epoch, 0o40755, 0, 0, entries]);
    table.size += countFiles(entries).bytes;
  }
  const json = JSON.stringify(table);
  fs.writeFileSync(path.join(outDir, 'fs.json'), json);
  // What the browser fetches (0.4 MB → 0.17 MB), whether or not the web host compresses JSON; mtime 0: reproducible.
  fs.writeFileSync(path.join(outDir, 'fs.json.gz'), zlib.gzipSync(json, { level: 9 }));
}
