import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../buildroot/context.ts';
import { SkiffError } from '../buildroot/errors.ts';
import { sha256File } from './apt.ts';
import type { ArchInfo } from './arch.ts';
import { withCacheLock } from './cachelock.ts';
import { cacheDir } from './paths.ts';
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
  /** File name of the squashfs shipped next to the host image (core/<file>). */
  file: string;
  squashfs: string;
  size: number;
  sha256: string;
  /** Debian packages in the image, `name version`. */
  packages: string[];
}

/** What a layer's debian/config asks for: `CORE_IMAGE` made by `CORE_ROOTFS` (debootstrap or pull). */
export interface CoreRequest {
  image: string;
  recipe: string;
  suite: string;
  layerHint: string;
}

const sanitize = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_');

/** Fails fast (at plan time) when the core image cannot be made here, saying why. */
export function checkCoreRequest(req: CoreRequest, arch: ArchInfo): void {
  if (req.recipe !== 'debootstrap') {
    throw new SkiffError(
      `${req.layerHint}: the core image ${req.image} is made by "${req.recipe}", which needs network access to a container registry`,
      'offline, only core/debian (debootstrap) can be built; use SKIFF_CONFIG=...,skiff/core or core/debian',
    );
  }
  // Programs the host runs natively (no binfmt emulator registered here).
  const native: Record<string, string[]> = { x64: ['amd64', 'i386'], arm64: ['arm64', 'armhf', 'armel'] };
  if (!(native[process.arch] ?? []).includes(arch.debian)) {
    throw new SkiffError(
      `${req.layerHint}: the core root filesystem for ${arch.debian} needs debootstrap's second stage run on ${arch.debian}, and this host cannot run ${arch.debian} programs`,
      'build Skiff Core images for amd64 or i386 targets (virt/qemu, browser/v86), or run the build on a host of that architecture',
    );
  }
}

/**
 * A Debian minbase root filesystem made by debootstrap for the target, as a squashfs. debootstrap
 * runs its second stage in a chroot, so the host must be able to run the target's programs and
 * the build must be root.
 */
export async function buildCoreRootfs(ctx: Context, req: CoreRequest, arch: ArchInfo, epoch: number, progress: Progress): Promise<CoreImage> {
  checkCoreRequest(req, arch);
  if (process.getuid?.() !== 0) {
    throw new SkiffError('debootstrap (the core root filesystem) needs root: it chroots and creates device nodes', 'run the build as root (CI does), or drop skiff/core from SKIFF_CONFIG');
  }
  const source = debianSources(ctx.env, req.suite).find((s) => s.suite === req.suite && s.components.includes('main'));
  if (!source) throw new SkiffError(`no Debian archive for ${req.suite} among the host's apt sources`, 'set SKIFF_DEBIAN_MIRROR to a Debian mirror URL');
  const key = crypto.createHash('sha256').update(JSON.stringify(['minbase-v1', arch.debian, req.suite, source.uri, req.image])).digest('hex').slice(0, 16);
  const dir = path.join(cacheDir(ctx), 'core', `rootfs-${arch.debian}-${req.suite}-${key}`);
  const file = `${sanitize(req.image)}.squashfs`;
  const squashfs = path.join(dir, file);
  const meta = path.join(dir, 'packages.txt');
  return withCacheLock(dir, (pid) => progress.tick(`waiting for build ${pid}, which makes the same core root filesystem`, 0, true), async () => {
    if (!fs.existsSync(squashfs)) {
      const tree = path.join(dir, 'tree');
      // A half-made tree (interrupted build) is never reused: start again.
      await run('rm', ['-rf', tree]);
      fs.mkdirSync(dir, { recursive: true });
      progress.tick(`debootstrap --variant=minbase ${req.suite} ${arch.debian} from ${source.uri}`, 0, true);
      await run('debootstrap', ['--variant=minbase', `--arch=${arch.debian}`, req.suite, tree, source.uri], {
        onLine: (l) => progress.tick(`  ${l}`),
        logFile: path.join(dir, 'debootstrap.log'),
      });
      const pkgs = await run('chroot', [tree, 'dpkg-query', '-W', '-f=${Package} ${Version}\\n']);
      fs.writeFileSync(meta, pkgs);
      // What a download leaves behind, and host-specific files: not part of the image.
      await run('sh', ['-c', 'rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* var/log/* debootstrap && : > etc/machine-id && echo core > etc/hostname', '--'], { cwd: tree });
      progress.tick(`mksquashfs ${file}`, 0, true);
      const tmp = `${squashfs}.partial`;
      fs.rmSync(tmp, { force: true });
      await run('mksquashfs', [tree, tmp, '-noappend', '-comp', 'xz', '-no-progress', '-mkfs-time', String(epoch), '-all-time', String(epoch), '-reproducible']);
      fs.renameSync(tmp, squashfs);
      await run('rm', ['-rf', tree]);
    } else progress.tick(`core root filesystem ${req.image}: cached`, 0, true);
    const size = fs.statSync(squashfs).size;
    return { name: req.image, file, squashfs, size, sha256: sha256File(squashfs), packages: fs.readFileSync(meta, 'utf8').trim().split('\n') };
  });
}
