import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Context } from '../layers/context.ts';
import { SkiffError } from '../../lib/errors.ts';
import type { ArchInfo } from './arch.ts';
import { readElf } from './elf.ts';
import { cacheDir } from '../../images/paths.ts';
import { run } from './run.ts';

/** Folders of an explicitly requested package that go into the host; docs, locales and the rest stay out. */
const TAKE = ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/libexec', 'etc'];
/** Plugin folders (under usr/lib/<triplet>) whose modules programs dlopen, so no ELF names them: iptables' extensions. */
const PLUGINS = ['xtables'];
/** Host-side service wiring of Debian packages we do not run (we have our own init). */
const SKIP = [/^etc\/(init\.d|rc\d\.d|cron\.[a-z]+|logrotate\.d|default|systemd)(\/|$)/, /^usr\/sbin\/update-/];

/**
 * Unpacks a .deb once into the cache; a half-done unpack is never used. Builds running side by side
 * (test files, workspaces) may unpack the same package at once: each unpacks into its own folder and
 * the first rename wins; the folder is only ever created whole, so it is never removed under a reader.
 */
export async function extractDeb(ctx: Context, deb: string): Promise<string> {
  const dir = path.join(cacheDir(ctx), 'extracted', path.basename(deb, '.deb'));
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  const tmp = `${dir}.partial-${process.pid}-${randomUUID()}`;
  fs.mkdirSync(tmp, { recursive: true });
  try {
    await run('dpkg-deb', ['-x', deb, tmp]);
    fs.writeFileSync(path.join(tmp, '.complete'), '');
    // A folder without the mark was left by an older layout of the cache: set aside, then removed.
    if (fs.existsSync(dir) && !fs.existsSync(path.join(dir, '.complete'))) moveAsideAndRemove(dir);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !fs.existsSync(path.join(dir, '.complete'))) throw err;
      // Another build finished the same unpack first: its copy is the same.
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

function moveAsideAndRemove(dir: string): void {
  const aside = `${dir}.stale-${process.pid}-${randomUUID()}`;
  try {
    fs.renameSync(dir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else moved it
    throw err;
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

function walkFiles(root: string, rel: string, out: string[]): void {
  const p = path.join(root, rel);
  if (!fs.existsSync(p)) return;
  for (const name of fs.readdirSync(p).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = fs.lstatSync(path.join(root, r));
    if (st.isDirectory()) walkFiles(root, r, out);
    else out.push(r);
  }
}

function copyEntry(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.rmSync(to, { force: true });
  const st = fs.lstatSync(from);
  if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
  else {
    fs.copyFileSync(from, to);
    fs.chmodSync(to, st.mode & 0o7777);
  }
}

export interface StagedPackages {
  /** Files copied from the requested packages, relative to the tree. */
  files: string[];
  /** Shared libraries pulled in because something needs them, relative to the tree. */
  libraries: string[];
}

/**
 * Puts the requested packages' programs into `tree`, then exactly the shared libraries (and the
 * dynamic loader) those programs need, found among all the resolved packages.
 */
export function stagePackages(tree: string, arch: ArchInfo, requested: { name: string; dir: string }[], all: string[]): StagedPackages {
  const files: string[] = [];
  // Packages from a merged-/usr release (trixie on) ship nothing under /bin, /sbin or /lib: the tree
  // gets those as links into /usr, as such a system has, so /bin/sh and the ELF loader's path resolve.
  const merged = usrIsMerged(all);
  const mergedTops = merged ? MERGED_TOPS.filter((t) => t !== 'lib64' || all.some((d) => fs.existsSync(path.join(d, 'usr/lib64')))) : [];
  for (const top of mergedTops) {
    fs.mkdirSync(path.join(tree, 'usr', top), { recursive: true });
    if (!isLink(path.join(tree, top))) fs.symlinkSync(`usr/${top}`, path.join(tree, top));
  }
  for (const pkg of requested) {
    const rels: string[] = [];
    for (const top of [...TAKE, ...PLUGINS.map((d) => `usr/lib/${arch.triplet}/${d}`)]) walkFiles(pkg.dir, top, rels);
    for (const rel of rels.filter((r) => !SKIP.some((re) => re.test(r)))) {
      copyEntry(path.join(pkg.dir, rel), path.join(tree, rel));
      files.push(rel);
    }
  }
  // Where each library can be found: the multiarch folders of every resolved package.
  const libDirs = [`lib/${arch.triplet}`, `usr/lib/${arch.triplet}`, 'lib', 'usr/lib'];
  const index = new Map<string, { dir: string; rel: string }>();
  for (const dir of all) {
    for (const libDir of libDirs) {
      const p = path.join(dir, libDir);
      if (!fs.existsSync(p)) continue;
      for (const name of fs.readdirSync(p)) if (!index.has(name)) index.set(name, { dir, rel: `${libDir}/${name}` });
    }
  }
  const libraries: string[] = [];
  const done = new Set<string>();
  const need = (soname: string, by: string) => {
    if (done.has(soname)) return;
    done.add(soname);
    const found = index.get(soname);
    if (!found) throw new SkiffError(`${by} needs ${soname}, which no resolved ${arch.debian} package provides`, 'add the package that ships it to a layer\'s debian/packages');
    addWithTarget(found.dir, found.rel);
  };
  const addWithTarget = (dir: string, rel: string) => {
    if (libraries.includes(rel)) return;
    copyEntry(path.join(dir, rel), path.join(tree, rel));
    libraries.push(rel);
    const st = fs.lstatSync(path.join(dir, rel));
    if (st.isSymbolicLink()) {
      const target = path.posix.resolve('/', path.posix.dirname(rel), fs.readlinkSync(path.join(dir, rel))).slice(1);
      addWithTarget(dir, target);
      return;
    }
    inspect(rel);
  };
  const inspect = (rel: string) => {
    const file = path.join(tree, rel);
    if (fs.lstatSync(file).isSymbolicLink()) return;
    const elf = readElf(file);
    if (!elf) return;
    if (elf.machine !== arch.elfMachine) {
      throw new SkiffError(`${rel} is built for ELF machine ${elf.machine}, not ${arch.debian} (${arch.elfMachine})`, 'the package cache holds a package of another architecture: remove .cache/debs and build again');
    }
    if (elf.interpreter && !done.has(elf.interpreter)) {
      done.add(elf.interpreter);
      const loader = elf.interpreter.replace(/^\/+/, '');
      const interp = mergedTops.some((t) => loader.startsWith(`${t}/`)) ? `usr/${loader}` : loader;
      const owner = all.find((d) => fs.existsSync(path.join(d, interp)) || isLink(path.join(d, interp)));
      if (!owner) throw new SkiffError(`${rel} needs the loader ${elf.interpreter}, which no resolved package provides`, 'add libc6 to a layer\'s debian/packages');
      addWithTarget(owner, interp);
    }
    for (const soname of elf.needed) need(soname, rel);
  };
  for (const rel of files) inspect(rel);
  return { files, libraries };
}

const MERGED_TOPS = ['bin', 'sbin', 'lib', 'lib64'];

/** True when packages have /usr but none a real /bin, /sbin, /lib or /lib64 folder: a merged-/usr release. */
export function usrIsMerged(packageDirs: string[]): boolean {
  const isDir = (p: string) => fs.lstatSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
  return packageDirs.some((d) => isDir(path.join(d, 'usr'))) && !packageDirs.some((d) => MERGED_TOPS.some((t) => isDir(path.join(d, t))));
}

export function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
