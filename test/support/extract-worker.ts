// One build's worth of unpacking, for the cache race test: unpacks each .deb named on the command
// line into the cache SKIFF_CACHE_DIR names, and checks each result is whole.
import fs from 'node:fs';
import path from 'node:path';
import { extractDeb } from '../../buildroot/debian/rootfs.ts';

const ctx = { rootDir: process.cwd(), env: process.env, workspace: 'default' };
// As a build does: every package unpacked first, then all of them read.
const dirs = new Map<string, string>();
for (const deb of process.argv.slice(2)) dirs.set(path.basename(deb).split('_')[0]!, await extractDeb(ctx, deb));
for (const [name, dir] of dirs) {
  if (fs.readFileSync(path.join(dir, 'usr/share/probe', name), 'utf8') !== name) throw new Error(`${dir} is not whole`);
}
