import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discover } from '../../buildroot/layers/discover.ts';
import { SkiffError } from '../../lib/errors.ts';
import { emptyConfig, mergeSettings, parseFragment, renderConfig } from '../../buildroot/layers/fragments.ts';
import { applyOverlays } from '../../buildroot/layers/overlay.ts';
import { buildStack, mergeStack } from '../../buildroot/layers/stack.ts';
import { ctxFor, layer, scratchRoot, tempDir, writeTree } from '../support/tree.ts';

const parse = (text: string, kind: 'kernel' | 'buildroot' | 'debian' = 'kernel') => parseFragment(text, 'frag', kind, 'a/x', '/layers/a/x');

describe('fragment parsing', () => {
  it('reads assignments, "is not set" lines and skips comments', () => {
    const s = parse('# a comment\nCONFIG_A=y\n\n# CONFIG_B is not set\nCONFIG_C="two words"\nCONFIG_D=0x10\n');
    expect(s.map((x) => [x.symbol, x.value, x.line])).toEqual([
      ['CONFIG_A', 'y', 2],
      ['CONFIG_B', null, 4],
      ['CONFIG_C', '"two words"', 5],
      ['CONFIG_D', '0x10', 6],
    ]);
  });

  it('replaces SKIFF_CONFIG_ROOT with the layer folder', () => {
    expect(parse('BR2_ROOTFS_OVERLAY="SKIFF_CONFIG_ROOT/extra"', 'buildroot')[0]!.value).toBe('"/layers/a/x/extra"');
  });

  it('refuses a malformed line with its file and line number', () => {
    for (const bad of ['CONFIG_A y', 'FOO=y', 'CONFIG_A="unterminated', 'BR2_X=1']) {
      let err: unknown;
      try {
        parse(`CONFIG_OK=y\n${bad}\n`);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SkiffError);
      expect((err as SkiffError).message).toMatch(/^frag:2: malformed kernel fragment line/);
    }
    expect(() => parse('not a key\n', 'debian')).toThrow(/frag:1/);
  });

  it('lets the later value win, moving the symbol to the end, with "is not set" honoured', () => {
    const merged = emptyConfig('kernel');
    mergeSettings(merged, parse('CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=m\n'));
    mergeSettings(merged, parse('# CONFIG_A is not set\nCONFIG_C=y\n'));
    expect(renderConfig(merged)).toBe('CONFIG_B=y\n# CONFIG_A is not set\nCONFIG_C=y\n');
    expect(merged.history.get('CONFIG_A')!.map((s) => s.value)).toEqual(['y', null]);
  });
});

describe('layer order for fragments', () => {
  it('applies layers in stack order, then files in byte order within a layer', () => {
    const root = scratchRoot({
      ...layer('a/x', { files: { 'kernel/b': 'CONFIG_X=1\n', 'kernel/a': 'CONFIG_X=0\nCONFIG_Y=y\n', 'buildroot/k': 'BR2_LINUX_KERNEL_DEFCONFIG="a"\n' } }),
      ...layer('b/y', { files: { 'kernel/0': 'CONFIG_X=2\n# CONFIG_Y is not set\n', 'buildroot/k': 'BR2_LINUX_KERNEL_DEFCONFIG="b"\n' } }),
    });
    const c = mergeStack(buildStack(discover(ctxFor(root)), ['a/x', 'b/y']));
    expect(c.configs.kernel.history.get('CONFIG_X')!.map((s) => s.value)).toEqual(['0', '1', '2']);
    expect(c.configs.kernel.final.get('CONFIG_Y')!.value).toBeNull();
    expect(c.configs.buildroot.final.get('BR2_LINUX_KERNEL_DEFCONFIG')).toMatchObject({ value: '"b"', layer: 'b/y', line: 1 });
  });
});

describe('root overlays', () => {
  it('applies overlays in order, a later file replacing an earlier one, modes kept', () => {
    const src = tempDir();
    writeTree(src, { 'one/etc/motd': 'one\n', 'one/etc/keep': 'keep\n', 'two/etc/motd': 'two\n', 'two/usr/bin/tool': '#!/bin/sh\n' });
    fs.chmodSync(path.join(src, 'two/usr/bin/tool'), 0o755);
    const dest = tempDir();
    applyOverlays([{ layer: 'a/one', path: path.join(src, 'one') }, { layer: 'b/two', path: path.join(src, 'two') }], dest);
    expect(fs.readFileSync(path.join(dest, 'etc/motd'), 'utf8')).toBe('two\n');
    expect(fs.readFileSync(path.join(dest, 'etc/keep'), 'utf8')).toBe('keep\n');
    expect(fs.statSync(path.join(dest, 'usr/bin/tool')).mode & 0o777).toBe(0o755);
  });

  it('keeps symlinks as links and never follows them out of the tree', () => {
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, 'secret'), 'host file\n');
    const src = tempDir();
    writeTree(src, { 'one/etc/link': { link: path.join(outside, 'secret') }, 'one/data': { link: outside } });
    const dest = tempDir();
    applyOverlays([{ layer: 'a/one', path: path.join(src, 'one') }], dest);
    expect(fs.lstatSync(path.join(dest, 'etc/link')).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(path.join(dest, 'etc/link'))).toBe(path.join(outside, 'secret'));
    expect(fs.lstatSync(path.join(dest, 'data')).isSymbolicLink()).toBe(true);
  });

  it('refuses to write a later layer\'s files through an earlier layer\'s symlink', () => {
    const outside = tempDir();
    const src = tempDir();
    writeTree(src, { 'one/data': { link: outside }, 'two/data/file': 'x\n' });
    const dest = tempDir();
    expect(() => applyOverlays([{ layer: 'a/one', path: path.join(src, 'one') }, { layer: 'b/two', path: path.join(src, 'two') }], dest)).toThrow(
      /b\/two: root_overlay\/data is a folder, but an earlier layer made data a symlink/,
    );
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});
