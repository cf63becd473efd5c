// Where things are: the project's own folder, build outputs, the cache. One home for these paths;
// the build writes them and the emulator, harness, site and bench read them.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout: configs/, overrides/, workspaces/, images/. */
export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What a path helper needs to know: the root holding the folders, the workspace, the environment. */
export interface Where {
  rootDir: string;
  workspace: string;
  env: NodeJS.ProcessEnv;
}

/** All workspaces' finished images: images/out/. */
export const outRoot = (rootDir: string = PROJECT_DIR) => path.join(rootDir, 'images', 'out');

/** A workspace's finished images: images/out/<workspace>/. */
export const outDir = (w: Pick<Where, 'rootDir' | 'workspace'>) => path.join(outRoot(w.rootDir), w.workspace);

/** Downloads, extracted sources and kernel builds, reused across workspaces; never in git. */
export const cacheDir = (w: Pick<Where, 'rootDir' | 'env'>) => path.resolve(w.env.SKIFF_CACHE_DIR || path.join(w.rootDir, '.cache'));

/** The Debian package lock file. */
export const lockFilePath = (rootDir: string = PROJECT_DIR) => path.join(rootDir, 'images', 'debian-lock.json');
