import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Context, PROJECT_DIR, workspaceDir } from '../layers/context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { applyOverlays } from '../layers/overlay.ts';
import type { Resolution } from '../layers/workspace.ts';
import { workspaceEnv } from '../layers/commands.ts';
import { TargetApt, fetchPackages, sha256File } from './apt.ts';
import { type ArchInfo, archInfo } from './arch.ts';
import { packCpio } from './cpio.ts';
import { hostNeeds, requireHostTools } from './doctor.ts';
import { debianSettings, qemuFacts } from './board-facts.ts';
import { BOARD_BOOT_METHODS, type CardPlan, planCard, writeBoardImage } from './board-image.ts';
import { fetchBootloader } from './bootloader.ts';
import { type EfiLoader, fetchEfiLoader, PC_BOOT_METHODS, type PcDiskPlan, planPcDisk, writePcDisk } from './pc-disk.ts';
import { buildCoreManager, buildCoreRootfs, checkCoreRequest, CORE_RUNTIME_PACKAGES, type CoreImage, type CoreRequest, writeShare } from './core.ts';
import { buildKernel, type KernelBuild } from './kernel.ts';
import { lockKey, readLock, updateLock } from './lock.ts';
import type { Manifest, QemuFacts } from '../../images/manifest.ts';
import { outDir } from '../../images/paths.ts';
import { Progress } from './progress.ts';
import { run } from './run.ts';
import { addArchiveLinks, ROOTFS_ARCHIVES, type RootfsArchive, writeRootfsArchive } from './rootfs-archive.ts';
import { extractDeb, isLink, stagePackages } from './rootfs.ts';
import { fetchFirmware } from './firmware.ts';
import { debianSources } from './sources.ts';
import { addUsers } from './users.ts';

export interface BuildPlan {
  arch: ArchInfo;
  bootMethod: string;
  /** U-Boot boards: the card and its bootloader, checked before anything is built. */
  card?: CardPlan;
  /** PCs (BOOT_METHOD=efi or bios): the disk image. */
  pcDisk?: PcDiskPlan;
  /** How QEMU boots the image (QEMU_* keys), for the harness and `skiff cmd virt/qemu/run`. */
  qemu?: QemuFacts;
  /** Skiff Core: the core image a layer asks for (skiff/core sets SKIFF_CORE=yes). */
  core?: CoreRequest;
  /** The kernel the image boots; absent for a root filesystem that runs on its host's kernel. */
  kernel?: { defconfig: string; image: string; dtbs: string[] };
  /** BOOT_METHOD=container|wsl: the root filesystem archive compile writes instead of a kernel and initramfs. */
  rootfsArchive?: RootfsArchive;
  settings: Record<string, string>;
}

/** Reads what the debian backend needs from the merged `debian/config` of the stack. */
export function planBuild(r: Resolution): BuildPlan {
  const settings = debianSettings(r);
  const chain = r.chain.join(',');
  const arch = archInfo(settings.ARCH, chain);
  if (settings.OFFLINE === 'no') {
    throw new SkiffError(`${chain} cannot be built offline: ${settings.OFFLINE_BLOCKER ?? 'the layer says so without saying why'}`, settings.OFFLINE_BLOCKER ?? 'see the board layer\'s README');
  }
  const bootMethod = settings.BOOT_METHOD ?? 'none';
  const rootfsArchive = ROOTFS_ARCHIVES[bootMethod];
  if (rootfsArchive) return planRootfsArchive(settings, chain, arch, bootMethod, rootfsArchive);
  for (const key of ['KERNEL_DEFCONFIG', 'KERNEL_IMAGE']) {
    if (!settings[key]) {
      throw new SkiffError(
        `no layer of ${chain} sets ${key}`,
        `set ${key} in the board or machine layer's debian/config (only BOOT_METHOD=${Object.keys(ROOTFS_ARCHIVES).join(' or ')} builds without a kernel)`,
      );
    }
  }
  return {
    arch,
    bootMethod,
    // With Skiff Core the card carries the core image on persist, finished there on first use: room for both.
    card: BOARD_BOOT_METHODS.has(bootMethod) ? planCard(settings, chain, settings.SKIFF_CORE === 'yes' ? '1024M' : undefined) : undefined,
    pcDisk: PC_BOOT_METHODS.has(bootMethod) ? planPcDisk(settings, chain, settings.SKIFF_CORE === 'yes' ? '1024M' : undefined) : undefined,
    qemu: qemuFacts(settings, chain),
    core: planCore(settings, chain, arch),
    kernel: { defconfig: settings.KERNEL_DEFCONFIG!, image: settings.KERNEL_IMAGE!, dtbs: (settings.KERNEL_DTBS ?? '').split(/\s+/).filter(Boolean) },
    settings,
  };
}

/** A root filesystem run on its host's kernel (docker, WSL): no kernel keys, nothing that boots one. */
function planRootfsArchive(settings: Record<string, string>, chain: string, arch: ArchInfo, bootMethod: string, rootfsArchive: RootfsArchive): BuildPlan {
  const kernelKey = ['KERNEL_DEFCONFIG', 'KERNEL_IMAGE', 'KERNEL_DTBS', 'QEMU_BINARY'].find((k) => settings[k]);
  if (kernelKey) {
    throw new SkiffError(`${chain} sets ${kernelKey}, but BOOT_METHOD=${bootMethod} runs on its host's kernel and builds none`, `remove ${kernelKey} from the stack, or stack a machine layer that boots a kernel (e.g. virt/qemu) instead of ${bootMethod}`);
  }
  if (settings.SKIFF_CORE === 'yes') {
    throw new SkiffError(
      `${chain}: Skiff Core is not built into a ${bootMethod} root filesystem yet (its containers would run nested in the ${bootMethod === 'wsl' ? 'WSL distribution' : 'container'})`,
      'drop skiff/core from SKIFF_CONFIG for this image, or build skiff/core on a machine layer such as virt/qemu',
    );
  }
  return { arch, bootMethod, rootfsArchive, settings };
}

/** The layer holding the manager's source: the last layer of the stack that has it (an override may replace it). */
function coreLayerDir(r: Resolution): string {
  const layer = [...r.configuration.stack].reverse().find((l) => fs.existsSync(path.join(l.dir, 'resources', 'skiff-core')));
  if (!layer) throw new SkiffError('SKIFF_CORE=yes but no layer has resources/skiff-core (the manager\'s source)', 'add skiff/core to SKIFF_CONFIG');
  return layer.dir;
}

function planCore(settings: Record<string, string>, chain: string, arch: ArchInfo): CoreRequest | undefined {
  if (settings.SKIFF_CORE !== 'yes') return undefined;
  if (!settings.CORE_IMAGE) throw new SkiffError(`${chain} enables Skiff Core but no layer sets CORE_IMAGE`, 'set CORE_IMAGE (e.g. skiffos/skiff-core-debian:bookworm) in the core layer\'s debian/config');
  const req = { image: settings.CORE_IMAGE, recipe: settings.CORE_ROOTFS || 'debootstrap', suite: settings.CORE_SUITE || 'bookworm', layerHint: chain };
  return { ...req, onDevice: checkCoreRequest(req, arch, settings.CORE_ROOTFS_ON_DEVICE, settings.BOOT_METHOD) };
}

/** The host tools building this plan takes. */
export const planNeeds = (plan: BuildPlan) =>
  hostNeeds(plan.arch, plan.bootMethod, { squashfs: plan.settings.ROOTFS_SQUASHFS === 'yes', core: !!plan.core, qemu: plan.qemu, vdi: plan.pcDisk?.vdi, kernel: !!plan.kernel });

export function sourceDateEpoch(ctx: Context): number {
  if (ctx.env.SOURCE_DATE_EPOCH) return Number(ctx.env.SOURCE_DATE_EPOCH);
  const git = spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: ctx.rootDir, encoding: 'utf8' });
  return Number(git.stdout?.trim()) || 0;
}

/**
 * The board family: the namespace of the layer that sets ARCH (`orangepi` for orangepi/zero, whose
 * orangepi/common sets it). `skiff push` refuses to put one family's image on another's board.
 */
export function boardFamily(r: Resolution): string {
  const arch = r.configuration.configs.debian.final.get('ARCH');
  return arch ? arch.layer.split('/')[0]! : 'none';
}

export function skiffVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, 'package.json'), 'utf8')) as { version: string }).version;
}

const sha256 = (data: string | Buffer) => crypto.createHash('sha256').update(data).digest('hex');
const rel = (ctx: Context, p: string) => (path.isAbsolute(p) && p.startsWith(ctx.rootDir + path.sep) ? path.relative(ctx.rootDir, p) : p);

/** Resolves (or reuses the lock's) Debian packages for the target and downloads them. */
export async function lockedPackages(ctx: Context, r: Resolution, plan: BuildPlan, progress: Progress, forceUpdate = false) {
  const wanted = r.configuration.debianPackages;
  const requested = [...new Set(wanted.map((p) => p.name))].sort();
  const suite = plan.settings.DEBIAN_SUITE || undefined;
  const key = lockKey(plan.arch.debian, requested);
  let entry = readLock(ctx).arches[key];
  const warnings: string[] = [];
  if (forceUpdate || !entry || JSON.stringify(entry.requested) !== JSON.stringify(requested) || entry.suite !== suite) {
    progress.tick(`resolving ${requested.length} packages for ${plan.arch.debian}${suite ? ` (${suite})` : ''} against the Debian mirror`, 0, true);
    const apt = new TargetApt(ctx, plan.arch.debian, suite);
    const failures = await apt.update(progress);
    for (const f of failures) warnings.push(`package index unavailable, built without it: ${f}`);
    for (const w of warnings) progress.tick(`warning: ${w}`, 0, true);
    const packages = await apt.resolve(wanted);
    const before = new Map((entry?.packages ?? []).map((p) => [p.name, p.version]));
    entry = { requested, ...(suite ? { suite } : {}), packages };
    const updated = entry;
    await updateLock(ctx, (lock) => {
      lock.arches[key] = updated;
    });
    const changed = packages.filter((p) => before.get(p.name) !== p.version).map((p) => `${p.name} ${p.version}`);
    progress.tick(`images/debian-lock.json updated for ${plan.arch.debian}${changed.length ? `: ${changed.join(', ')}` : ''}`, 0, true);
  }
  const debs = await fetchPackages(ctx, debianSources(ctx.env, suite), entry.packages, progress);
  return { packages: entry.packages, debs, requested, warnings };
}

/** Every file of a layer (fragments, overlays, hooks) with its sha256, so a manifest pins the inputs. */
function layerFiles(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (r: string) => {
    for (const name of fs.readdirSync(path.join(dir, r)).sort()) {
      const p = r ? `${r}/${name}` : name;
      const st = fs.lstatSync(path.join(dir, p));
      if (st.isDirectory()) walk(p);
      else files[p] = st.isSymbolicLink() ? `link:${fs.readlinkSync(path.join(dir, p))}` : sha256(fs.readFileSync(path.join(dir, p)));
    }
  };
  walk('');
  return files;
}

/** Modes as git cannot keep them (umask, empty folders): fixed so two checkouts build the same bytes. */
function normalizeModes(tree: string): void {
  const special: Record<string, number> = { root: 0o700, 'etc/shadow': 0o600, tmp: 0o1777 };
  const walk = (r: string) => {
    for (const name of fs.readdirSync(path.join(tree, r))) {
      const p = r ? `${r}/${name}` : name;
      const full = path.join(tree, p);
      const st = fs.lstatSync(full);
      if (st.isSymbolicLink()) continue;
      // Set-uid and set-gid bits come only from the build (git cannot carry them): kept.
      const mode = special[p] ?? (st.isDirectory() ? 0o755 : (st.mode & 0o6000) | (st.mode & 0o111 ? 0o755 : 0o644));
      fs.chmodSync(full, mode);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
}

async function runHooks(ctx: Context, r: Resolution, hooks: { layer: string; path: string }[], env: NodeJS.ProcessEnv, progress: Progress) {
  for (const hook of hooks) {
    const layer = r.configuration.stack.find((l) => l.id === hook.layer);
    progress.tick(`hook ${hook.layer}/${path.relative(layer?.dir ?? '', hook.path)}`, 0, true);
    await run('sh', [hook.path], { env: { ...workspaceEnv(ctx, r, layer?.dir), ...env }, onLine: (l) => progress.tick(`  ${l}`, 0, true) });
  }
}

/** Builds the workspace's images into images/out/<workspace>/, swapping the whole folder in at the end. */
export async function compile(ctx: Context, r: Resolution, progress = new Progress(5)): Promise<Manifest> {
  const plan = planBuild(r);
  if (!plan.kernel) progress.addSteps(-1);
  progress.step(`host tools for ${plan.arch.debian}`);
  requireHostTools(planNeeds(plan));
  progress.done('all present');

  progress.step(`Debian packages (${plan.arch.debian})`);
  const pkgs = await lockedPackages(ctx, r, plan, progress);
  // Fetched before the kernel is built, so a wrong U-Boot target fails in seconds, not after it.
  const bootloader = plan.card?.bootloader && (await fetchBootloader(ctx, plan.arch.debian, plan.card.bootloader, progress));
  if (bootloader) progress.tick(`bootloader: ${bootloader.pkg} ${bootloader.version}, ${bootloader.target}`, 0, true);
  const efiLoader: EfiLoader | undefined = plan.pcDisk?.firmware === 'efi' ? await fetchEfiLoader(ctx, plan.arch, progress) : undefined;
  if (efiLoader) progress.tick(`UEFI loader: ${efiLoader.pkg} ${efiLoader.version}, as EFI/BOOT/${efiLoader.bootName}`, 0, true);
  const firmware = plan.card?.firmware && (await fetchFirmware(ctx, plan.arch.debian, plan.card.firmware, progress));

  const epoch = sourceDateEpoch(ctx);
  let core: { manager: string; image: CoreImage } | undefined;
  if (plan.core) {
    progress.addSteps(1);
    progress.step(`Skiff Core (manager, core image ${plan.core.image})`);
    const manager = await buildCoreManager(ctx, path.join(coreLayerDir(r), 'resources', 'skiff-core'), plan.arch, progress);
    // v86 reads the core image file by file over 9p (the browser fetches only what is used); QEMU and boards import a squashfs.
    const image = await buildCoreRootfs(ctx, plan.core, plan.arch, epoch, plan.bootMethod === 'v86' ? 'share' : 'squashfs', progress);
    core = { manager, image };
    const shipped = image.squashfs ? `squashfs ${(image.squashfs.size / 1e6).toFixed(1)} MB` : `9p share of ${image.share!.files} files, ${(image.share!.bytes / 1e6).toFixed(1)} MB`;
    progress.done(`manager ${(fs.statSync(manager).size / 1e6).toFixed(1)} MB; ${image.name}: ${image.packages.length} Debian packages, ${shipped}`);
  }

  let kernel: KernelBuild | undefined;
  if (plan.kernel) {
    progress.step(`kernel (${plan.kernel.defconfig} + layer fragments, ARCH=${plan.arch.kernelArch})`);
    kernel = await buildKernel(ctx, { arch: plan.arch, ...plan.kernel, fragments: r.configuration.configs.kernel, patches: r.configuration.patches.kernel }, progress);
  }

  progress.step('root filesystem');
  const version = skiffVersion();
  const family = boardFamily(r);
  const tree = path.join(workspaceDir(ctx), 'rootfs');
  fs.rmSync(tree, { recursive: true, force: true });
  fs.mkdirSync(tree, { recursive: true });
  const dirs = new Map<string, string>();
  for (const [name, deb] of pkgs.debs) dirs.set(name, await extractDeb(ctx, deb));
  // In the browser the container runtime rides on the core share, fetched at the first login, so
  // the first visit does not download it (about 1.7 MB of crun and libraries only it needs).
  const onShare = core?.image.share ? CORE_RUNTIME_PACKAGES.filter((p) => pkgs.requested.includes(p)) : [];
  const staged = stagePackages(
    tree,
    plan.arch,
    pkgs.requested.filter((name) => !onShare.includes(name)).map((name) => ({ name, dir: dirs.get(name)! })),
    [...dirs.values()],
  );
  let runtimeTree: string | undefined;
  if (onShare.length) {
    runtimeTree = path.join(workspaceDir(ctx), 'core-runtime');
    fs.rmSync(runtimeTree, { recursive: true, force: true });
    const rt = stagePackages(runtimeTree, plan.arch, onShare.map((name) => ({ name, dir: dirs.get(name)! })), [...dirs.values()]);
    // What the host has anyway (libc, the loader) stays in the host only.
    for (const f of [...rt.files, ...rt.libraries]) if (fs.existsSync(path.join(tree, f)) || isLink(path.join(tree, f))) fs.rmSync(path.join(runtimeTree, f), { force: true });
  }
  applyOverlays(r.configuration.overlays, tree);
  addUsers(tree, r.configuration.users);
  if (core) {
    // Set-uid root: a mapped user's login shell runs crun, which needs root.
    fs.copyFileSync(core.manager, path.join(tree, 'usr/bin/skiff-core'));
    fs.chmodSync(path.join(tree, 'usr/bin/skiff-core'), 0o4755);
    fs.mkdirSync(path.join(tree, 'etc/skiff/core'), { recursive: true });
    const { name, squashfs: sq, share } = core.image;
    const entry = sq ? { name, file: sq.file, size: sq.size, sha256: sq.sha256, ...(sq.onDevice ? { finish: 'debootstrap' } : {}) } : { name, file: share!.root, share: true };
    fs.writeFileSync(path.join(tree, 'etc/skiff/core/images.json'), JSON.stringify({ images: [entry] }, null, 2) + '\n');
  }
  fs.mkdirSync(path.join(tree, 'etc/skiff'), { recursive: true });
  fs.writeFileSync(
    path.join(tree, 'etc/skiff/release'),
    `SKIFF_VERSION=${version}\nSKIFF_BUILD_EPOCH=${epoch}\nSKIFF_CONFIG=${r.chain.join(',')}\nSKIFF_KERNEL=${kernel?.release ?? 'host'}\n` +
      // The init scripts read the boot method: a container or WSL leaves kernel, clock, devices and network to its host.
      `SKIFF_ARCH=${plan.arch.debian}\nSKIFF_FAMILY=${family}\nSKIFF_BOOT_METHOD=${plan.bootMethod}\n`,
  );
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'mnt/persist', 'var/log']) fs.mkdirSync(path.join(tree, d), { recursive: true });
  await runHooks(ctx, r, r.configuration.hooks.pre, { TARGET_DIR: tree }, progress);
  if (plan.rootfsArchive) addArchiveLinks(tree);
  normalizeModes(tree);
  const archive = plan.rootfsArchive && path.join(workspaceDir(ctx), plan.rootfsArchive.file);
  if (archive) await writeRootfsArchive(tree, archive, plan.rootfsArchive!, epoch);
  // A kernel of ours boots the tree as its initramfs; with /dev/console there before devtmpfs is mounted.
  const initramfs = kernel && (await compressInitramfs(packCpio(tree, epoch, [{ path: 'dev/console', mode: 0o020600, major: 5, minor: 1 }]), path.join(workspaceDir(ctx), 'initramfs.cpio'), plan.bootMethod === 'v86' ? 19 : 9));
  // Some boards boot a squashfs root instead of (or next to) the initramfs: the layer asks with ROOTFS_SQUASHFS=yes.
  const squashfs = plan.settings.ROOTFS_SQUASHFS === 'yes' ? path.join(workspaceDir(ctx), 'rootfs.squashfs') : undefined;
  if (squashfs) {
    fs.rmSync(squashfs, { force: true });
    await run('mksquashfs', [tree, squashfs, '-noappend', '-all-root', '-comp', 'xz', '-no-progress', '-mkfs-time', String(epoch), '-all-time', String(epoch), '-reproducible']);
  }
  const packed = initramfs ? `initramfs ${(initramfs.length / 1e6).toFixed(2)} MB` : `${plan.rootfsArchive!.file} ${(fs.statSync(archive!).size / 1e6).toFixed(2)} MB`;
  progress.done(`${staged.files.length} program files, ${staged.libraries.length} libraries; ${packed}`);

  progress.step('images and manifest');
  const final = outDir(ctx);
  const tmp = `${final}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const dtbs = kernel ? kernel.dtbs.map((file) => ({ file, rel: path.relative(path.join(path.dirname(kernel.image), 'dtbs'), file) })) : [];
  if (core) {
    // The core image ships next to the host image, hard-linked from the cache (tens of MB). Before
    // the card: `format` puts core/*.squashfs (with its .sha256) on a board's persist.
    const link = (from: string, to: string) => {
      fs.mkdirSync(path.dirname(to), { recursive: true });
      try {
        fs.linkSync(from, to);
      } catch {
        fs.copyFileSync(from, to);
      }
    };
    const { squashfs: sq, share } = core.image;
    if (sq) {
      link(sq.path, path.join(tmp, 'core', sq.file));
      fs.writeFileSync(path.join(tmp, 'core', `${sq.file}.sha256`), `${sq.sha256}\n`);
    }
    if (share) {
      for (const f of fs.readdirSync(path.join(share.dir, 'flat'))) link(path.join(share.dir, 'flat', f), path.join(tmp, 'core', 'flat', f));
      await writeShare(share, runtimeTree, path.join(tmp, 'core'), epoch, progress);
    }
  }
  let board: Manifest['board'];
  let pcHostFiles: Record<string, string> = {};
  if (plan.card) {
    // A board boots from its card: the kernel, initramfs and device trees live in boot/ only.
    const written = await writeBoardImage(
      { out: tmp, arch: plan.arch, bootMethod: plan.bootMethod, chain: r.chain.join(','), epoch, boot: { kernelImage: plan.kernel!.image, kernelFile: kernel!.image, initramfs: initramfs!, dtbs }, card: plan.card, bootloader, firmware },
      progress,
    );
    board = { card: path.basename(written.card), ...(written.bootloader ? { bootloader: written.bootloader } : {}), ...(firmware ? { firmware: firmware.source } : {}) };
  } else if (plan.pcDisk) {
    // A PC boots from its disk: the kernel and initramfs live in boot/ only, as on a board.
    const written = await writePcDisk({ out: tmp, chain: r.chain.join(','), boot: { kernelImage: plan.kernel!.image, kernelFile: kernel!.image, initramfs: initramfs! }, disk: plan.pcDisk, loader: efiLoader }, progress);
    board = { card: path.basename(written.card), loader: written.loader, ...(written.vdi ? { vdi: path.basename(written.vdi) } : {}) };
    pcHostFiles = written.hostFiles;
  } else if (archive) {
    fs.renameSync(archive, path.join(tmp, plan.rootfsArchive!.file));
  } else {
    fs.copyFileSync(kernel!.image, path.join(tmp, plan.kernel!.image));
    for (const d of dtbs) {
      fs.mkdirSync(path.dirname(path.join(tmp, 'dtbs', d.rel)), { recursive: true });
      fs.copyFileSync(d.file, path.join(tmp, 'dtbs', d.rel));
    }
    fs.writeFileSync(path.join(tmp, 'initramfs.cpio.zst'), initramfs!);
  }
  if (squashfs) fs.renameSync(squashfs, path.join(tmp, 'rootfs.squashfs'));
  const hostFiles: Record<string, string> = { ...pcHostFiles };
  if (plan.bootMethod === 'v86') {
    for (const [src, name] of [['/usr/share/seabios/bios.bin', 'seabios.bin'], ['/usr/share/seabios/vgabios-stdvga.bin', 'vgabios.bin']] as const) {
      fs.copyFileSync(src, path.join(tmp, name));
      hostFiles[name] = `${src} (seabios ${(await run('dpkg-query', ['-W', '-f=${Version}', 'seabios'])).trim()})`;
    }
  }
  await runHooks(ctx, r, r.configuration.hooks.post, { BINARIES_DIR: tmp, TARGET_DIR: tree }, progress);
  const outputs: Manifest['outputs'] = {};
  for (const name of listFiles(tmp)) outputs[name] = { size: fs.statSync(path.join(tmp, name)).size, sha256: sha256File(path.join(tmp, name)) };
  const manifest: Manifest = {
    skiff: version,
    backend: 'debian',
    sourceDateEpoch: epoch,
    chain: r.chain,
    arch: plan.arch.debian,
    family,
    bootMethod: plan.bootMethod,
    layers: r.configuration.stack.map((l) => ({ id: l.id, role: l.role, path: rel(ctx, l.dir), files: layerFiles(l.dir) })),
    ...(kernel
      ? {
          kernel: {
            release: kernel.release,
            source: 'linux-source-6.1',
            sourceVersion: kernel.sourceVersion,
            defconfig: plan.kernel!.defconfig,
            configSha256: kernel.configSha256,
            dropped: kernel.dropped,
          },
        }
      : {}),
    ...(plan.rootfsArchive ? { rootfsArchive: { file: plan.rootfsArchive.file, importCommand: plan.rootfsArchive.importCommand } } : {}),
    packages: pkgs.packages.map((p) => ({ name: p.name, version: p.version, sha256: p.sha256, arch: plan.arch.debian })),
    hostFiles,
    ...(plan.qemu ? { qemu: plan.qemu } : {}),
    ...(board ? { board } : {}),
    ...(core ? { core: coreManifest(core.image) } : {}),
    outputs,
    warnings: [...pkgs.warnings, ...(kernel?.dropped ?? []).map((d) => `kernel dropped ${d}`)],
  };
  fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const old = `${final}.old`;
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(tmp, final);
  fs.rmSync(old, { recursive: true, force: true });
  progress.done(`${path.relative(ctx.rootDir, final)}/: ${Object.keys(outputs).join(', ')}, manifest.json (total ${progress.elapsed()})`);
  return manifest;
}

/**
 * zstd: smaller than gzip -9 and faster for the kernel to unpack. -19 where every byte is
 * downloaded (the playground's first visit); elsewhere -9, which is about 12% larger and twenty
 * times quicker (docker's 265 MB initramfs: 4 s instead of 78). Multi-threaded zstd output does
 * not depend on the thread count.
 */
async function compressInitramfs(cpio: Buffer, file: string, level: number): Promise<Buffer> {
  fs.writeFileSync(file, cpio);
  await run('zstd', [`-${level}`, '-T0', '-q', '-f', '--no-progress', file, '-o', `${file}.zst`]);
  const out = fs.readFileSync(`${file}.zst`);
  fs.rmSync(file);
  fs.rmSync(`${file}.zst`);
  return out;
}

function coreManifest(image: CoreImage): NonNullable<Manifest['core']> {
  const { name, packages, squashfs: sq, share } = image;
  if (sq) return { image: name, packages, file: `core/${sq.file}`, ...(sq.onDevice ? { finishedOnDevice: true } : {}) };
  return { image: name, packages, share: { fsJson: 'core/fs.json', fsJsonGz: 'core/fs.json.gz', flat: 'core/flat/', files: share!.files, bytes: share!.bytes } };
}

function listFiles(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(path.join(dir, prefix))
    .sort()
    .flatMap((name) => {
      const p = prefix ? `${prefix}/${name}` : name;
      // Thousands of content-named files: fs.json (listed) already pins each by its sha256.
      if (p === 'core/flat') return [];
      return fs.statSync(path.join(dir, p)).isDirectory() ? listFiles(dir, p) : [p];
    });
}
