// Packages from a merged-/usr release (Debian trixie, where riscv64 lives) ship everything under
// /usr: the staged root filesystem must still have /bin/sh and the ELF loader where programs look.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { archInfo } from '../../buildroot/debian/arch.ts';
import { stagePackages, usrIsMerged } from '../../buildroot/debian/rootfs.ts';
import { tempDir } from '../support/tree.ts';

const HOST_LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const HOST_LOADER = '/lib64/ld-linux-x86-64.so.2';

/** A package folder holding the host's real files at the given paths, and relative links (`-> path in the package`). */
function pkg(root: string, name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  for (const [rel, from] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    if (from.startsWith('-> ')) fs.symlinkSync(path.posix.relative(path.posix.dirname(rel), from.slice(3)), path.join(dir, rel));
    else {
      fs.copyFileSync(fs.realpathSync(from), path.join(dir, rel));
      fs.chmodSync(path.join(dir, rel), 0o755);
    }
  }
  return dir;
}

/**
 * libc6 as Debian lays it out, under `top` (`usr/` in a merged-/usr release, nothing before): the
 * loader in the multiarch folder, and a link where programs look for it.
 */
function libc6(root: string, top: string): string {
  return pkg(root, 'libc6', {
    [`${top}lib/x86_64-linux-gnu/libc.so.6`]: HOST_LIBC,
    [`${top}lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`]: HOST_LOADER,
    [`${top}lib64/ld-linux-x86-64.so.2`]: `-> ${top}lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`,
  });
}

/** Stages package `prog` with `libc` beside it into a fresh tree under root, as compile does. */
function stage(root: string, prog: string, libc: string) {
  const tree = path.join(root, 'tree');
  fs.mkdirSync(tree);
  return { tree, staged: stagePackages(tree, archInfo('amd64'), [{ name: 'prog', dir: prog }], [prog, libc]) };
}

describe('staging packages of a merged-/usr release', () => {
  it('links /bin, /sbin, /lib and /lib64 into /usr, finds the loader under /usr, and the program runs in the tree', () => {
    const root = tempDir();
    const prog = pkg(root, 'prog', { 'usr/bin/true': '/usr/bin/true' });
    const libc = libc6(root, 'usr/');
    expect(usrIsMerged([prog, libc])).toBe(true);
    const { tree, staged } = stage(root, prog, libc);
    expect(staged.files).toEqual(['usr/bin/true']);
    expect(staged.libraries.sort()).toEqual(['usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 'usr/lib/x86_64-linux-gnu/libc.so.6', 'usr/lib64/ld-linux-x86-64.so.2']);
    for (const top of ['bin', 'sbin', 'lib', 'lib64']) expect(fs.readlinkSync(path.join(tree, top))).toBe(`usr/${top}`);
    // What the kernel does for /init: the program's own loader path, resolved inside the tree.
    const r = spawnSync('chroot', [tree, '/bin/true'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('leaves a release with real /bin and /lib folders (bookworm) as its packages lay it out', () => {
    const root = tempDir();
    const prog = pkg(root, 'prog', { 'bin/true': '/usr/bin/true' });
    const libc = libc6(root, '');
    fs.mkdirSync(path.join(libc, 'usr/share'), { recursive: true });
    expect(usrIsMerged([prog, libc])).toBe(false);
    const { tree } = stage(root, prog, libc);
    expect(fs.lstatSync(path.join(tree, 'bin')).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(tree, 'lib64/ld-linux-x86-64.so.2'))).toBe(true);
    expect(fs.existsSync(path.join(tree, 'sbin'))).toBe(false);
  });
});
