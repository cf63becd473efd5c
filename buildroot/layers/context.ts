import path from 'node:path';
import { cacheDir, outDir, PROJECT_DIR } from '../../images/paths.ts';
import { SkiffError } from '../../lib/errors.ts';
import { folderProblem } from '../../lib/folder.ts';
import { quoted } from '../../lib/printable.ts';
import { workspaceName } from './names.ts';

export { PROJECT_DIR };

/** Everything a command reads from its surroundings, so tests can point it at a scratch tree. */
export interface Context {
  /** Holds `configs/`, `overrides/` and `workspaces/`; `SKIFF_ROOT_DIR` moves it (tests, out-of-tree use). */
  rootDir: string;
  env: NodeJS.ProcessEnv;
  workspace: string;
}

/** The context of a command run by a user: the environment, checked before anything is read or written. */
export function contextFromEnv(env: NodeJS.ProcessEnv = process.env): Context {
  const rootDir = path.resolve(env.SKIFF_ROOT_DIR || PROJECT_DIR);
  const ctx = { rootDir, env, workspace: workspaceName(env.SKIFF_WORKSPACE) };
  checkEnvironment(ctx);
  return ctx;
}

export const configsDir = (ctx: Context) => path.join(ctx.rootDir, 'configs');
export const overridesDir = (ctx: Context) => path.join(ctx.rootDir, 'overrides');
export const workspaceOverridesDir = (ctx: Context) => path.join(ctx.rootDir, 'overrides', 'workspaces', ctx.workspace);
export const workspaceDir = (ctx: Context) => path.join(ctx.rootDir, 'workspaces', ctx.workspace);

/**
 * The folders and URLs the environment names, refused early with the variable and the fix: a file
 * where the workspace or the cache should be would otherwise surface as a stack trace mid-build.
 */
export function checkEnvironment(ctx: Context): void {
  const { env } = ctx;
  if (env.SKIFF_ROOT_DIR) {
    const problem = folderProblem(ctx.rootDir);
    if (problem) throw new SkiffError(`SKIFF_ROOT_DIR=${quoted(env.SKIFF_ROOT_DIR)} cannot be used: ${problem}`, 'point SKIFF_ROOT_DIR at a folder holding configs/, or unset it');
  }
  for (const dir of [workspaceDir(ctx), outDir(ctx)]) {
    const problem = folderProblem(dir);
    if (problem) {
      throw new SkiffError(
        `workspace "${ctx.workspace}" (SKIFF_WORKSPACE) cannot use ${dir}: ${problem}`,
        `move that file away, or choose another workspace, e.g. SKIFF_WORKSPACE=${ctx.workspace === 'default' ? 'dev' : 'default'}`,
      );
    }
  }
  const cache = cacheDir(ctx);
  const cacheProblem = folderProblem(cache);
  if (cacheProblem) {
    const what = env.SKIFF_CACHE_DIR ? `SKIFF_CACHE_DIR=${quoted(env.SKIFF_CACHE_DIR)}` : `the cache folder ${cache}`;
    throw new SkiffError(`${what} cannot hold the cache: ${cacheProblem}`, 'point SKIFF_CACHE_DIR at a folder (created when missing), e.g. SKIFF_CACHE_DIR=~/.cache/skiff');
  }
  checkMirror(env.SKIFF_DEBIAN_MIRROR);
}

/** SKIFF_DEBIAN_MIRROR is downloaded from with fetch(), which speaks http and https only. */
function checkMirror(mirror: string | undefined): void {
  if (!mirror) return;
  let url: URL | undefined;
  try {
    url = new URL(mirror);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new SkiffError(
      `SKIFF_DEBIAN_MIRROR=${quoted(mirror)} is not an http:// or https:// URL`,
      'set it to a Debian mirror, e.g. SKIFF_DEBIAN_MIRROR=http://deb.debian.org/debian, or unset it to use the host\'s apt sources',
    );
  }
}
