import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { type Context, PROJECT_DIR, workspaceDir } from './context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { printable, quoted, shown } from '../../lib/printable.ts';
import { layerPathVariable } from './names.ts';
import { CONFIG_DIR, type Resolution } from './workspace.ts';
import { outDir } from '../../images/paths.ts';

/** The environment SkiffOS gives extension commands and hooks. */
export function workspaceEnv(ctx: Context, r: Resolution, layerDir?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...ctx.env,
    SKIFF_WORKSPACE: ctx.workspace,
    SKIFF_CONFIG: r.chain.join(','),
    SKIFF_ROOT_DIR: ctx.rootDir,
    // The code (buildroot/debian/flash-main.js, harness/qemu-run.js, node_modules), which a moved SKIFF_ROOT_DIR does not hold.
    SKIFF_PROJECT_DIR: PROJECT_DIR,
    SKIFF_WORKSPACE_DIR: workspaceDir(ctx),
    SKIFF_FINAL_CONFIG_DIR: path.join(workspaceDir(ctx), CONFIG_DIR),
    SKIFF_IMAGES_DIR: outDir(ctx),
  };
  for (const layer of r.configuration.stack) {
    if (layer.role === 'chain' || layer.role === 'pre' || layer.role === 'post') env[layerPathVariable(layer.id)] = layer.dir;
  }
  if (layerDir) env.SKIFF_CURRENT_CONF_DIR = layerDir;
  return env;
}

/**
 * Runs `make <command>` in a chain layer's extensions/ folder, on the user's terminal (format and
 * install ask y/N there). Its stderr is also kept, so a failure names the command, the exit code
 * and what it said last.
 */
export async function runExtensionCommand(ctx: Context, r: Resolution, spec: string): Promise<void> {
  const parts = spec.replace(/^cmd\//, '').split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) {
    throw new SkiffError(`${shown(spec)} is not a command name`, 'name it namespace/layer/command, e.g. `skiff cmd pi/common/format`');
  }
  const [ns, name, command] = parts as [string, string, string];
  const id = `${ns}/${name}`;
  const declared = r.configuration.commands.filter((c) => c.layer === id);
  if (!r.chain.includes(id)) {
    const all = r.configuration.commands.map((c) => `${c.layer}/${c.name}`);
    throw new SkiffError(
      `layer ${shown(id)} is not in the selected configuration (${r.chain.join(',')})`,
      all.length > 0 ? `commands of the selected layers: ${all.join(', ')}` : `add ${id} to SKIFF_CONFIG and run \`skiff configure\``,
    );
  }
  const cmd = declared.find((c) => c.name === command);
  if (!cmd) {
    throw new SkiffError(
      `${id} declares no command ${quoted(command)}`,
      declared.length > 0 ? `declared commands of ${id}: ${declared.map((c) => c.name).join(', ')}` : `${id} declares no commands (metadata/commands)`,
    );
  }
  const makefileDir = path.join(cmd.dir, 'extensions');
  if (!fs.existsSync(path.join(makefileDir, 'Makefile'))) {
    throw new SkiffError(`${id} declares "${command}" but has no extensions/Makefile`, `add a "${command}:" target to ${path.join(makefileDir, 'Makefile')}`);
  }
  const args = ['--no-print-directory', '-C', makefileDir, command];
  // Ctrl-C belongs to the command (QEMU, a y/N prompt): wait for it to end rather than die first.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  const res = await execa('make', args, {
    env: workspaceEnv(ctx, r, cmd.dir),
    extendEnv: false,
    reject: false,
    stdin: 'inherit',
    stdout: 'inherit',
    stderr: ['pipe', 'inherit'],
  }).finally(() => process.off('SIGINT', ignore));
  if (!res.failed) return;
  if (res.code === 'ENOENT') throw new SkiffError('cannot run make: it is not installed', 'install it: apt-get install make');
  const how = res.signal ? `was stopped by ${res.signal}` : res.exitCode !== undefined ? `exited with code ${res.exitCode}` : `could not run (${res.code ?? res.shortMessage})`;
  const tail = String(res.stderr ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-STDERR_TAIL);
  throw new SkiffError(
    `${id}/${command} failed: \`make ${args.join(' ')}\` ${how}${tail.length > 0 ? `; its last lines on stderr:\n    ${tail.map((l) => printable(l.slice(0, 300))).join('\n    ')}` : ''}`,
    `the command is declared in ${path.join(cmd.dir, 'metadata', 'commands')} and defined in ${path.join(makefileDir, 'Makefile')}`,
  );
}

/** How many of a failed command's last stderr lines an error repeats. */
const STDERR_TAIL = 6;
