import fs from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../../lib/errors.ts';
import type { Contribution } from './stack.ts';

/**
 * Copies each layer's root_overlay over `dest`, in order: a later layer's file replaces an
 * earlier one's. Symlinks are recreated as links and never followed, and nothing is written
 * through a link an earlier overlay made, so no overlay can reach outside `dest`.
 */
export function applyOverlays(overlays: Contribution[], dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  for (const overlay of overlays) copyTree(overlay, overlay.path, dest, '');
}

function copyTree(overlay: Contribution, src: string, dest: string, rel: string): void {
  const names = fs.readdirSync(path.join(src, rel)).sort();
  for (const name of names) {
    const relPath = path.join(rel, name);
    const from = path.join(src, relPath);
    const to = path.join(dest, relPath);
    const st = fs.lstatSync(from);
    const existing = lstatOrUndefined(to);
    if (st.isSymbolicLink()) {
      if (existing) fs.rmSync(to, { recursive: true, force: true });
      fs.symlinkSync(fs.readlinkSync(from), to);
    } else if (st.isDirectory()) {
      if (existing?.isSymbolicLink()) {
        throw new SkiffError(
          `${overlay.layer}: root_overlay/${relPath} is a folder, but an earlier layer made ${relPath} a symlink to ${fs.readlinkSync(to)}`,
          `remove the symlink from the earlier layer or move ${overlay.layer}'s files to the link's real target`,
        );
      }
      if (existing && !existing.isDirectory()) fs.rmSync(to, { force: true });
      fs.mkdirSync(to, { recursive: true });
      fs.chmodSync(to, st.mode & 0o7777);
      copyTree(overlay, src, dest, relPath);
    } else if (st.isFile()) {
      if (existing) fs.rmSync(to, { recursive: true, force: true });
      fs.copyFileSync(from, to);
      fs.chmodSync(to, st.mode & 0o7777);
    } else {
      throw new SkiffError(`${overlay.layer}: root_overlay/${relPath} is neither a file, a folder nor a symlink`, 'device nodes and fifos belong in a makeuser/device table, not in an overlay');
    }
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}
