// A root filesystem that runs on someone else's kernel (a container, a WSL distribution) ships as a
// tar archive of the root instead of a kernel and an initramfs. The tree is the one the initramfs
// of every other image holds.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { run } from './run.ts';

export interface RootfsArchive {
  /** The file compile writes into images/out/<workspace>/. */
  file: 'rootfs.tar' | 'rootfs.tar.gz';
  /** How the user takes it in, for the manifest and the messages. */
  importCommand: string;
}

/**
 * The boot methods whose image is a root filesystem archive: `docker import` takes a plain tar,
 * `wsl --import` a gzip'd one.
 */
export const ROOTFS_ARCHIVES: Record<string, RootfsArchive> = {
  container: { file: 'rootfs.tar', importCommand: 'docker import rootfs.tar skiffos' },
  wsl: { file: 'rootfs.tar.gz', importCommand: 'wsl --import SkiffOS <folder> rootfs.tar.gz' },
};

/**
 * Links the runtime opens before any script of ours has run: the container's command
 * (`/sbin/init`) and root's login shell (`/bin/sh`, what `docker exec` and WSL start). The rest
 * of busybox's applet links are made when the system starts, as in the initramfs.
 */
export const ARCHIVE_LINKS: Record<string, string> = { 'bin/sh': 'busybox', 'sbin/init': '/bin/busybox' };

export function addArchiveLinks(tree: string): void {
  for (const [link, target] of Object.entries(ARCHIVE_LINKS)) {
    const p = path.join(tree, link);
    if (fs.lstatSync(p, { throwIfNoEntry: false })) continue;
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.symlinkSync(target, p);
  }
}

/** Every entry of the tree, relative and in byte order, parents before children: tar's member list. */
export function archiveMembers(tree: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const names = fs.readdirSync(path.join(tree, rel)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      if (fs.lstatSync(path.join(tree, r)).isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

/**
 * Packs the tree reproducibly with GNU tar: members named without `./` (bin/busybox, not
 * ./bin/busybox), in byte order, owner root, every timestamp `epoch`; no device nodes (the runtime
 * gives /dev). The .tar.gz is gzip'd in-process with no name or time in its header, so the same
 * tree gives the same bytes.
 */
export async function writeRootfsArchive(tree: string, out: string, archive: RootfsArchive, epoch: number): Promise<void> {
  const list = `${out}.members`;
  fs.writeFileSync(list, archiveMembers(tree).join('\0') + '\0');
  const tar = archive.file.endsWith('.gz') ? `${out}.tar` : out;
  try {
    await run('tar', [
      '--create', `--file=${tar}`, `--directory=${tree}`, '--format=gnu', '--no-recursion', '--null', `--files-from=${list}`,
      '--numeric-owner', '--owner=0', '--group=0', `--mtime=@${epoch}`,
    ]);
    if (tar !== out) {
      fs.writeFileSync(out, zlib.gzipSync(fs.readFileSync(tar), { level: 9 }));
      fs.rmSync(tar);
    }
  } finally {
    fs.rmSync(list, { force: true });
  }
}
