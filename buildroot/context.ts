import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workspaceName } from './names.ts';

/** Where the project's own files are: configs/, overrides/, workspaces/. */
export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Everything a command reads from its surroundings, so tests can point it at a scratch tree. */
export interface Context {
  /** Holds `configs/`, `overrides/` and `workspaces/`; `SKIFF_ROOT_DIR` moves it (tests, out-of-tree use). */
  rootDir: string;
  env: NodeJS.ProcessEnv;
  workspace: string;
}

export function contextFromEnv(env: NodeJS.ProcessEnv = process.env): Context {
  const rootDir = path.resolve(env.SKIFF_ROOT_DIR || PROJECT_DIR);
  return { rootDir, env, workspace: workspaceName(env.SKIFF_WORKSPACE) };
}

export const configsDir = (ctx: Context) => path.join(ctx.rootDir, 'configs');
export const overridesDir = (ctx: Context) => path.join(ctx.rootDir, 'overrides');
export const workspaceOverridesDir = (ctx: Context) => path.join(ctx.rootDir, 'overrides', 'workspaces', ctx.workspace);
export const workspaceDir = (ctx: Context) => path.join(ctx.rootDir, 'workspaces', ctx.workspace);
