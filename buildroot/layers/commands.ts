import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Context, PROJECT_DIR, workspaceDir } from './context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { layerPathVariable } from './names.ts';
import { CONFIG_DIR, type Resolution } from './workspace.ts';

/** The environment SkiffOS gives extension commands and hooks. */
export function workspaceEnv(ctx: Context, r: Resolution, layerDir?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...ctx.env,
    SKIFF_WORKSPACE: ctx.workspace,
    SKIFF_CONFIG: r.chain.join(','),
    SKIFF_ROOT_DIR: ctx.rootDir,
    // The code (images/flash-main.js, node_modules), which a moved SKIFF_ROOT_DIR does not hold.
    SKIFF_PROJECT_DIR: PROJECT_DIR,
    SKIFF_WORKSPACE_DIR: workspaceDir(ctx),
    SKIFF_FINAL_CONFIG_DIR: path.join(workspaceDir(ctx), CONFIG_DIR),
    SKIFF_IMAGES_DIR: path.join(ctx.rootDir, 'images', 'out', ctx.workspace),
  };
  for (const layer of r.configuration.stack) {
    if (layer.role === 'chain' || layer.role === 'pre' || layer.role === 'post') env[layerPathVariable(layer.id)] = layer.dir;
  }
  if (layerDir) env.SKIFF_CURRENT_CONF_DIR = layerDir;
  return env;
}

/** Runs `make <command>` in a chain layer's extensions/ folder; returns make's exit status. */
export function runExtensionCommand(ctx: Context, r: Resolution, spec: string): number {
  const parts = spec.replace(/^cmd\//, '').split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) {
    throw new SkiffError(`"${spec}" is not a command name`, 'name it namespace/layer/command, e.g. `skiff cmd pi/common/format`');
  }
  const [ns, name, command] = parts as [string, string, string];
  const id = `${ns}/${name}`;
  const declared = r.configuration.commands.filter((c) => c.layer === id);
  if (!r.chain.includes(id)) {
    const all = r.configuration.commands.map((c) => `${c.layer}/${c.name}`);
    throw new SkiffError(
      `layer ${id} is not in the selected configuration (${r.chain.join(',')})`,
      all.length > 0 ? `commands of the selected layers: ${all.join(', ')}` : `add ${id} to SKIFF_CONFIG and run \`skiff configure\``,
    );
  }
  const cmd = declared.find((c) => c.name === command);
  if (!cmd) {
    throw new SkiffError(
      `${id} declares no command "${command}"`,
      declared.length > 0 ? `declared commands of ${id}: ${declared.map((c) => c.name).join(', ')}` : `${id} declares no commands (metadata/commands)`,
    );
  }
  const makefileDir = path.join(cmd.dir, 'extensions');
  if (!fs.existsSync(path.join(makefileDir, 'Makefile'))) {
    throw new SkiffError(`${id} declares "${command}" but has no extensions/Makefile`, `add a "${command}:" target to ${path.join(makefileDir, 'Makefile')}`);
  }
  const res = spawnSync('make', ['--no-print-directory', '-C', makefileDir, command], { stdio: 'inherit', env: workspaceEnv(ctx, r, cmd.dir) });
  if (res.error) throw new SkiffError(`could not run make: ${res.error.message}`, 'install make (apt-get install make)');
  return res.status ?? 1;
}
