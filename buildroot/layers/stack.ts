import fs from 'node:fs';
import path from 'node:path';
import { overridesDir, workspaceOverridesDir } from './context.ts';
import { type Catalog, findLayer } from './discover.ts';
import { SkiffError } from '../../lib/errors.ts';
import { FRAGMENT_KINDS, type FragmentKind, emptyConfig, fragmentFiles, type MergedConfig, mergeSettings, parseFragment, type Setting } from './fragments.ts';
import { type LayerCommand, readMeta } from './metadata.ts';
import { POST_LAYER, PRE_LAYER, type StackLayer } from './resolve.ts';

/** The full ordered stack: base pre layer, the resolved chain, overrides, workspace overrides, base post layer. */
export function buildStack(catalog: Catalog, chain: string[]): StackLayer[] {
  const stack: StackLayer[] = [];
  if (catalog.layers.has(PRE_LAYER)) stack.push({ ...findLayer(catalog, PRE_LAYER), role: 'pre' });
  for (const id of chain) stack.push({ ...findLayer(catalog, id), role: 'chain' });
  const ctx = catalog.ctx;
  if (isDir(overridesDir(ctx))) stack.push({ id: 'overrides', dir: overridesDir(ctx), origin: 'implicit', role: 'overrides' });
  if (isDir(workspaceOverridesDir(ctx))) {
    stack.push({ id: `overrides/workspaces/${ctx.workspace}`, dir: workspaceOverridesDir(ctx), origin: 'implicit', role: 'workspace-overrides' });
  }
  if (catalog.layers.has(POST_LAYER)) stack.push({ ...findLayer(catalog, POST_LAYER), role: 'post' });
  return stack;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** What a layer contributes that is a list of folders or files, in stack order. */
export interface Contribution {
  layer: string;
  path: string;
}

export interface Configuration {
  stack: StackLayer[];
  configs: Record<FragmentKind, MergedConfig>;
  /** `cflags/*` lines joined, with the files they came from. */
  cflags: { value: string; files: Contribution[] };
  overlays: Contribution[];
  hooks: { pre: Contribution[]; post: Contribution[] };
  users: Contribution[];
  externals: Contribution[];
  patches: { buildroot: Contribution[]; kernel: Contribution[]; uboot: Contribution[] };
  debianPackages: { name: string; layer: string }[];
  commands: (LayerCommand & { layer: string; dir: string })[];
}

const DERIVED = '(derived)';

/** Merges every layer's fragments and gathers its folders, in stack order. */
export function mergeStack(stack: StackLayer[]): Configuration {
  const configs = Object.fromEntries(FRAGMENT_KINDS.map((k) => [k, emptyConfig(k)])) as Record<FragmentKind, MergedConfig>;
  const out: Configuration = {
    stack,
    configs,
    cflags: { value: '', files: [] },
    overlays: [],
    hooks: { pre: [], post: [] },
    users: [],
    externals: [],
    patches: { buildroot: [], kernel: [], uboot: [] },
    debianPackages: [],
    commands: [],
  };
  const flags: string[] = [];
  for (const layer of stack) {
    const at = (sub: string) => path.join(layer.dir, sub);
    const has = (sub: string) => fs.existsSync(at(sub));
    const add = (list: Contribution[], sub: string) => has(sub) && list.push({ layer: layer.id, path: at(sub) });
    for (const kind of FRAGMENT_KINDS) {
      const files = fragmentFiles(at(kind)).filter((f) => kind !== 'debian' || path.basename(f) === 'config');
      for (const file of files) mergeSettings(configs[kind], parseFragment(fs.readFileSync(file, 'utf8'), file, kind, layer.id, layer.dir));
    }
    for (const file of fragmentFiles(at('cflags'))) {
      const text = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
      if (text.length > 0) {
        flags.push(...text);
        out.cflags.files.push({ layer: layer.id, path: file });
      }
    }
    add(out.overlays, 'root_overlay');
    add(out.hooks.pre, 'hooks/pre.sh');
    add(out.hooks.post, 'hooks/post.sh');
    for (const file of fragmentFiles(at('users'))) out.users.push({ layer: layer.id, path: file });
    if (has('buildroot_ext')) {
      for (const need of ['external.desc', 'external.mk', 'Config.in']) {
        if (!fs.existsSync(at(`buildroot_ext/${need}`))) {
          throw new SkiffError(`${at('buildroot_ext')} lacks ${need}`, 'a BR2_EXTERNAL tree needs external.desc, external.mk and Config.in');
        }
      }
      add(out.externals, 'buildroot_ext');
    }
    add(out.patches.buildroot, 'buildroot_patches');
    add(out.patches.kernel, 'kernel_patches');
    add(out.patches.uboot, 'uboot_patches');
    const pkgs = at('debian/packages');
    if (fs.existsSync(pkgs)) {
      fs.readFileSync(pkgs, 'utf8').split('\n').forEach((raw, i) => {
        const name = raw.replace(/#.*/, '').trim();
        if (name === '') return;
        if (!/^[a-z0-9][a-z0-9.+-]+(:[a-z0-9]+)?$/.test(name)) {
          throw new SkiffError(`${pkgs}:${i + 1}: "${name}" is not a Debian package name`, 'one package name per line, e.g. busybox-static');
        }
        if (!out.debianPackages.some((p) => p.name === name)) out.debianPackages.push({ name, layer: layer.id });
      });
    }
    if (layer.role === 'chain') {
      for (const c of readMeta(layer).commands) out.commands.push({ ...c, layer: layer.id, dir: layer.dir });
    }
  }
  out.cflags.value = flags.join(' ');
  addDerivedBuildrootOptions(out);
  return out;
}

/** The Buildroot options SkiffOS fills from the layers' folders rather than from fragments. */
function addDerivedBuildrootOptions(c: Configuration): void {
  const derived: [string, Contribution[], string][] = [
    ['BR2_TARGET_OPTIMIZATION', c.cflags.files, c.cflags.value],
    ['BR2_ROOTFS_OVERLAY', c.overlays, ''],
    ['BR2_ROOTFS_POST_BUILD_SCRIPT', c.hooks.pre, ''],
    ['BR2_ROOTFS_POST_IMAGE_SCRIPT', c.hooks.post, ''],
    ['BR2_ROOTFS_USERS_TABLES', c.users, ''],
    ['BR2_GLOBAL_PATCH_DIR', c.patches.buildroot, ''],
    ['BR2_LINUX_KERNEL_PATCH', c.patches.kernel, ''],
    ['BR2_TARGET_UBOOT_PATCH', c.patches.uboot, ''],
  ];
  const settings: Setting[] = [];
  for (const [symbol, from, value] of derived) {
    if (from.length === 0) continue;
    const joined = value || from.map((f) => f.path).join(' ');
    settings.push({ symbol, value: JSON.stringify(joined), layer: from.map((f) => f.layer).join(','), file: DERIVED, line: 0 });
  }
  mergeSettings(c.configs.buildroot, settings);
}
