import fs from 'node:fs';
import path from 'node:path';
import { type Context, workspaceDir } from './context.ts';
import { type Catalog, discover } from './discover.ts';
import { SkiffError } from '../../lib/errors.ts';
import { renderConfig } from './fragments.ts';
import { splitLayerList } from './names.ts';
import { resolveChain } from './resolve.ts';
import { buildStack, type Configuration, mergeStack } from './stack.ts';

export const CHAIN_FILE = 'skiff_config';
export const CONFIG_DIR = 'config';

/** The chain `configure` saved in the workspace, if any. */
export function savedChain(ctx: Context): string | undefined {
  const file = path.join(workspaceDir(ctx), CHAIN_FILE);
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new SkiffError(`cannot read workspace "${ctx.workspace}"'s configuration ${file}: ${code === 'EISDIR' ? 'it is a folder' : (code ?? String(err))}`, `remove ${file} and run \`skiff configure\` again`);
  }
}

export interface Selection {
  /** The SKIFF_CONFIG text that was used. */
  config: string;
  from: 'SKIFF_CONFIG' | 'workspace';
}

/** SKIFF_CONFIG when set, else the workspace's saved chain; undefined when neither exists. */
export function selectConfig(ctx: Context): Selection | undefined {
  const given = (ctx.env.SKIFF_CONFIG ?? '').trim();
  if (splitLayerList(given).length > 0) return { config: given, from: 'SKIFF_CONFIG' };
  const saved = savedChain(ctx);
  return saved ? { config: saved, from: 'workspace' } : undefined;
}

export function requireSelection(ctx: Context): Selection {
  const sel = selectConfig(ctx);
  if (sel) return sel;
  throw new SkiffError(
    `SKIFF_CONFIG is not set and workspace "${ctx.workspace}" has not been configured`,
    'run e.g. `SKIFF_CONFIG=browser/v86 skiff configure` (`skiff layers` lists the layers)',
  );
}

export interface Resolution {
  catalog: Catalog;
  selection: Selection;
  chain: string[];
  configuration: Configuration;
}

export function resolveSelection(ctx: Context, selection = requireSelection(ctx)): Resolution {
  const catalog = discover(ctx);
  const chain = resolveChain(catalog, selection.config);
  return { catalog, selection, chain, configuration: mergeStack(buildStack(catalog, chain)) };
}

/** A JSON view of a resolution: the stack and every merged symbol with where it was set. */
export function describeResolution(ctx: Context, r: Resolution) {
  const c = r.configuration;
  const configs = Object.fromEntries(
    Object.entries(c.configs).map(([kind, merged]) => [
      kind,
      Object.fromEntries([...merged.final.values()].map((s) => [s.symbol, { value: s.value, layer: s.layer, file: s.file, line: s.line }])),
    ]),
  );
  return {
    workspace: ctx.workspace,
    selectedFrom: r.selection.from,
    chain: r.chain,
    stack: c.stack.map((l) => ({ id: l.id, role: l.role, dir: l.dir, origin: l.origin })),
    configs,
    overlays: c.overlays,
    hooks: c.hooks,
    users: c.users,
    externals: c.externals,
    patches: c.patches,
    cflags: c.cflags,
    debianPackages: c.debianPackages,
    commands: c.commands.map(({ layer, name, description }) => ({ layer, name, description })),
  };
}

/**
 * Writes the workspace: merged fragments, overlay order, hooks and the resolved stack, into a
 * temporary folder renamed over the old one, so an interrupted configure never leaves half a config.
 */
export function writeWorkspace(ctx: Context, r: Resolution): string {
  const dir = workspaceDir(ctx);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(dir, '.config-'));
  const c = r.configuration;
  const write = (name: string, text: string) => fs.writeFileSync(path.join(tmp, name), text);
  for (const [kind, merged] of Object.entries(c.configs)) write(`${kind}.config`, renderConfig(merged));
  const lines = (items: { path: string }[]) => items.map((i) => i.path).join('\n') + (items.length ? '\n' : '');
  write('overlays', lines(c.overlays));
  write('hooks-pre', lines(c.hooks.pre));
  write('hooks-post', lines(c.hooks.post));
  write('debian.packages', c.debianPackages.map((p) => p.name).join('\n') + '\n');
  write('stack.json', JSON.stringify(describeResolution(ctx, r), null, 2) + '\n');
  const final = path.join(dir, CONFIG_DIR);
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  const chainTmp = path.join(dir, `.${CHAIN_FILE}.tmp`);
  fs.writeFileSync(chainTmp, r.chain.join(',') + '\n');
  fs.renameSync(chainTmp, path.join(dir, CHAIN_FILE));
  return final;
}
