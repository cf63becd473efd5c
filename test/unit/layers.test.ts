import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discover, findLayer } from '../../buildroot/layers/discover.ts';
import { SkiffError } from '../../lib/errors.ts';
import { resolveChain } from '../../buildroot/layers/resolve.ts';
import { buildStack, mergeStack } from '../../buildroot/layers/stack.ts';
import { ctxFor, layer, scratchRoot, tempDir, writeTree } from '../support/tree.ts';

/** The dependency shape upstream SkiffOS has for pi/4 and skiff/core. */
const upstreamShape = {
  ...layer('skiff/moduleimg'),
  ...layer('pi/common', { deps: 'skiff/moduleimg' }),
  ...layer('pi/4x64'),
  ...layer('pi/4', { deps: 'pi/common,pi/4x64' }),
  ...layer('apps/runc'),
  ...layer('apps/containerd', { deps: 'apps/runc' }),
  ...layer('apps/docker', { deps: 'apps/containerd' }),
  ...layer('skiff/core', { deps: 'apps/docker' }),
};

function chainOf(root: string, config: string, env: NodeJS.ProcessEnv = {}) {
  return resolveChain(discover(ctxFor(root, env)), config);
}

function errorOf(fn: () => unknown): SkiffError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SkiffError) return err;
    throw err;
  }
  throw new Error('expected a SkiffError');
}

describe('chain resolution', () => {
  it('inserts dependencies just before the layer that needs them, recursively (upstream pi/4,skiff/core)', () => {
    const root = scratchRoot(upstreamShape);
    expect(chainOf(root, 'pi/4,skiff/core')).toEqual([
      'skiff/moduleimg', 'pi/common', 'pi/4x64', 'pi/4', 'apps/runc', 'apps/containerd', 'apps/docker', 'skiff/core',
    ]);
  });

  it('keeps the first occurrence of a duplicate and ignores blanks around commas', () => {
    const root = scratchRoot({ ...layer('a/x'), ...layer('b/y') });
    expect(chainOf(root, ' a/x, b/y,,a/x ')).toEqual(['a/x', 'b/y']);
  });

  it('does not move a dependency the user listed, even after its dependent', () => {
    const root = scratchRoot({ ...layer('a/x', { deps: 'b/y' }), ...layer('b/y') });
    expect(chainOf(root, 'a/x,b/y')).toEqual(['a/x', 'b/y']);
    expect(chainOf(root, 'a/x')).toEqual(['b/y', 'a/x']);
  });

  it('includes a shared dependency once, before its first dependent', () => {
    const root = scratchRoot({ ...layer('a/x', { deps: 'c/z' }), ...layer('b/y', { deps: 'c/z' }), ...layer('c/z') });
    expect(chainOf(root, 'a/x,b/y')).toEqual(['c/z', 'a/x', 'b/y']);
  });

  it('reports a dependency cycle with its chain', () => {
    const root = scratchRoot({ ...layer('a/x', { deps: 'b/y' }), ...layer('b/y', { deps: 'c/z' }), ...layer('c/z', { deps: 'a/x' }) });
    const err = errorOf(() => chainOf(root, 'a/x'));
    expect(err.message).toBe('dependency cycle: a/x → b/y → c/z → a/x');
    expect(err.fix).toContain(path.join('c', 'z', 'metadata', 'dependencies'));
  });

  it('names an unknown layer and suggests the nearest ones', () => {
    const root = scratchRoot(upstreamShape);
    const err = errorOf(() => chainOf(root, 'pi/5,skiff/core'));
    expect(err.message).toContain('unknown layer pi/5');
    expect(err.fix).toMatch(/did you mean .*pi\/4/);
    const dep = errorOf(() => chainOf(scratchRoot(layer('a/x', { deps: 'q/nope' })), 'a/x'));
    expect(dep.message).toContain('unknown layer q/nope');
    expect(dep.message).toContain('a/x/metadata/dependencies');
  });

  it('refuses names with "..", absolute paths and characters outside [A-Za-z0-9_]', () => {
    const root = scratchRoot(upstreamShape);
    expect(errorOf(() => chainOf(root, '../etc')).message).toContain('contains ".."'); // outside-on-purpose
    expect(errorOf(() => chainOf(root, 'pi/../../etc')).message).toContain('..');
    expect(errorOf(() => chainOf(root, '/etc/passwd')).message).toContain('absolute path');
    expect(errorOf(() => chainOf(root, 'pi/4-x')).message).toContain('[A-Za-z0-9_]');
    expect(errorOf(() => chainOf(root, '')).message).toContain('SKIFF_CONFIG is empty');
  });

  it('refuses a layer folder that resolves outside its search path', () => {
    const outside = tempDir();
    writeTree(outside, { 'metadata/description': 'evil\n' });
    const root = scratchRoot({ ...layer('a/x'), 'configs/evil/layer': { link: outside } });
    const catalog = discover(ctxFor(root));
    expect(catalog.layers.has('evil/layer')).toBe(false);
    expect(errorOf(() => findLayer(catalog, 'evil/layer')).message).toContain('outside its search path');
  });
});

describe('layer search paths', () => {
  it('searches SKIFF_EXTRA_CONFIGS_PATH entries first, in order, then configs/', () => {
    const root = scratchRoot(layer('a/x', { description: 'project\n' }));
    const extra1 = tempDir();
    const extra2 = tempDir();
    writeTree(extra1, { 'a/x/metadata/description': 'extra one\n', 'b/y/metadata/description': 'only extra\n' });
    writeTree(extra2, { 'a/x/metadata/description': 'extra two\n' });
    const catalog = discover(ctxFor(root, { SKIFF_EXTRA_CONFIGS_PATH: `${extra1}:${extra2}` }));
    expect(catalog.layers.get('a/x')!.dir).toBe(path.join(extra1, 'a/x'));
    expect(catalog.layers.get('b/y')!.origin).toBe('extra');
    const onlySecond = discover(ctxFor(root, { SKIFF_EXTRA_CONFIGS_PATH: `${extra2}` }));
    expect(onlySecond.layers.get('a/x')!.dir).toBe(path.join(extra2, 'a/x'));
  });

  it('lets a preset SKIFF_CONFIG_PATH_<NS>_<NAME> beat every search path', () => {
    const root = scratchRoot(layer('odroid/xu4'));
    const mine = tempDir();
    const extra = tempDir();
    writeTree(extra, { 'odroid/xu4/metadata/description': 'extra\n' });
    const catalog = discover(ctxFor(root, { SKIFF_CONFIG_PATH_ODROID_XU4: mine, SKIFF_EXTRA_CONFIGS_PATH: extra }));
    expect(catalog.layers.get('odroid/xu4')!.dir).toBe(mine);
    expect(catalog.layers.get('odroid/xu4')!.origin).toBe('preset');
  });

  it('warns about an unreadable extra path and ignores badly named folders', () => {
    const root = scratchRoot({ ...layer('a/x'), 'configs/bad-ns/y/metadata/description': 'x\n' });
    const catalog = discover(ctxFor(root, { SKIFF_EXTRA_CONFIGS_PATH: '/nonexistent/skiff' }));
    expect(catalog.layers.has('bad-ns/y')).toBe(false);
    expect(catalog.warnings.join('\n')).toContain('/nonexistent/skiff');
    expect(catalog.warnings.join('\n')).toContain('bad-ns/y');
  });
});

describe('the stack', () => {
  it('puts the base pre layer first, then the chain, overrides, workspace overrides and the post layer', () => {
    const root = scratchRoot({
      ...layer('skiff/base'),
      ...layer('skiff/post', { unlisted: true }),
      ...layer('a/x'),
      'overrides/kernel/mine': 'CONFIG_X=y\n',
      'overrides/workspaces/dev/kernel/mine': 'CONFIG_X=n\n',
    });
    const ctx = ctxFor(root, { SKIFF_WORKSPACE: 'dev' });
    const catalog = discover(ctx);
    const stack = buildStack(catalog, resolveChain(catalog, 'a/x,skiff/base'));
    expect(stack.map((l) => `${l.role}:${l.id}`)).toEqual([
      'pre:skiff/base', 'chain:a/x', 'overrides:overrides', 'workspace-overrides:overrides/workspaces/dev', 'post:skiff/post',
    ]);
    expect(mergeStack(stack).configs.kernel.final.get('CONFIG_X')!.value).toBe('n');
    // Another workspace does not see dev's overrides.
    const other = discover(ctxFor(root, { SKIFF_WORKSPACE: 'other' }));
    expect(mergeStack(buildStack(other, ['a/x'])).configs.kernel.final.get('CONFIG_X')!.value).toBe('y');
  });

  it('merges every folder a layer may have, in layer order', () => {
    const root = scratchRoot({
      ...layer('a/x', {
        files: {
          'cflags/01': '-O2\n',
          'users/u': 'core -1 core -1 * /home/core /bin/sh - core user\n',
          'hooks/pre.sh': '#!/bin/sh\n',
          'hooks/post.sh': '#!/bin/sh\n',
          'kernel_patches/0001.patch': '',
          'buildroot_patches/pkg/0001.patch': '',
          'debian/packages': 'busybox-static\n# comment\ncrun\n',
          'root_overlay/etc/a': 'a\n',
          'buildroot_ext/external.desc': 'name: X\n',
          'buildroot_ext/external.mk': '',
          'buildroot_ext/Config.in': '',
        },
      }),
      ...layer('b/y', { files: { 'cflags/01': '-mtune=cortex-a72\n', 'hooks/pre.sh': '#!/bin/sh\n', 'debian/packages': 'crun\ndropbear-bin\n' } }),
    });
    const c = mergeStack(buildStack(discover(ctxFor(root)), ['a/x', 'b/y']));
    expect(c.cflags.value).toBe('-O2 -mtune=cortex-a72');
    expect(c.configs.buildroot.final.get('BR2_TARGET_OPTIMIZATION')!.value).toBe('"-O2 -mtune=cortex-a72"');
    expect(c.hooks.pre.map((h) => h.layer)).toEqual(['a/x', 'b/y']);
    expect(c.hooks.post.map((h) => h.layer)).toEqual(['a/x']);
    expect(c.debianPackages.map((p) => p.name)).toEqual(['busybox-static', 'crun', 'dropbear-bin']);
    expect(c.externals).toHaveLength(1);
    expect(c.configs.buildroot.final.get('BR2_LINUX_KERNEL_PATCH')!.value).toContain(path.join('a/x/kernel_patches'));
    expect(c.configs.buildroot.final.get('BR2_ROOTFS_USERS_TABLES')!.value).toContain('a/x/users/u');
  });

  it('refuses a buildroot_ext without its three files and a bad package name, naming the file', () => {
    const root = scratchRoot({ ...layer('a/x', { files: { 'buildroot_ext/external.desc': 'name: X\n' } }), ...layer('b/y', { files: { 'debian/packages': 'ok\nNot A Package\n' } }) });
    const catalog = discover(ctxFor(root));
    expect(errorOf(() => mergeStack(buildStack(catalog, ['a/x']))).message).toContain('lacks external.mk');
    expect(errorOf(() => mergeStack(buildStack(catalog, ['b/y']))).message).toMatch(/b\/y\/debian\/packages:2/);
  });

  it('keeps the merged files byte-ordered regardless of creation order', () => {
    const root = scratchRoot({});
    for (const name of ['a', 'B', '2-b', '10-a']) writeTree(root, { [`configs/a/x/kernel/${name}`]: `CONFIG_ORDER="${name}"\n` });
    writeTree(root, layer('a/x'));
    const c = mergeStack(buildStack(discover(ctxFor(root)), ['a/x']));
    expect(c.configs.kernel.history.get('CONFIG_ORDER')!.map((s) => s.value)).toEqual(['"10-a"', '"2-b"', '"B"', '"a"']);
    expect(fs.existsSync(path.join(root, 'configs/a/x/kernel/a'))).toBe(true);
  });
});
