import path from 'node:path';
import { PROJECT_DIR } from '../../images/paths.ts';
import { workspaceName } from './names.ts';

export { PROJECT_DIR };

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
