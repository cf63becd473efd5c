import type { Context } from './context.ts';
import type { Catalog } from './discover.ts';
import { SkiffError } from '../../lib/errors.ts';
import { layerArch, readMeta } from './metadata.ts';
import type { Resolution } from './workspace.ts';

export interface LayerInfo {
  id: string;
  namespace: string;
  description: string;
  dependencies: string[];
  arch?: string;
  unlisted: boolean;
  commands: { name: string; description: string }[];
  dir: string;
  origin: string;
}

export function layerInfos(catalog: Catalog): LayerInfo[] {
  return [...catalog.layers.values()]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((l) => {
      const meta = readMeta(l);
      return {
        id: l.id,
        namespace: l.id.split('/')[0]!,
        description: meta.description,
        dependencies: meta.dependencies,
        arch: layerArch(l),
        unlisted: meta.unlisted,
        commands: meta.commands,
        dir: l.dir,
        origin: l.origin,
      };
    });
}

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s + ' '.repeat(n - s.length));

/** `skiff` with no command: workspace, selected chain, every listed layer, the chain's commands. */
export function renderHelp(ctx: Context, catalog: Catalog, resolved: Resolution | SkiffError | undefined): string {
  const out: string[] = [];
  out.push(`SkiffOS configuration layers — workspace "${ctx.workspace}" (SKIFF_WORKSPACE)`, '');
  const infos = layerInfos(catalog);
  const width = Math.max(20, ...infos.map((i) => i.id.length + 2));
  if (resolved === undefined) {
    out.push('Selected configuration: none. Set SKIFF_CONFIG and run `skiff configure`.');
  } else if (resolved instanceof SkiffError) {
    out.push(`Selected configuration cannot be resolved: ${resolved.describe()}`);
  } else {
    const from = resolved.selection.from === 'workspace' ? 'saved in the workspace' : 'from SKIFF_CONFIG';
    out.push(`Selected configuration (${from}): ${resolved.chain.join(',')}`);
    for (const id of resolved.chain) {
      out.push(`  ${pad(id, width)}${infos.find((i) => i.id === id)?.description ?? ''}`);
    }
  }
  out.push('', 'Layers (SKIFF_CONFIG=ns/name,ns/name,...):');
  let ns = '';
  for (const info of infos.filter((i) => !i.unlisted)) {
    if (info.namespace !== ns) {
      ns = info.namespace;
      out.push(`  ${ns}:`);
    }
    out.push(`    ${pad(info.id, width)}${info.description}`);
  }
  if (resolved && !(resolved instanceof SkiffError) && resolved.configuration.commands.length > 0) {
    out.push('', 'Commands of the selected layers:');
    for (const c of resolved.configuration.commands) out.push(`  ${pad(`make cmd/${c.layer}/${c.name}`, width + 16)}${c.description}`);
  }
  for (const w of catalog.warnings) out.push(`warning: ${w}`);
  // The CLI appends its own commands (cli/usage.ts), the one list of them.
  return out.join('\n') + '\n';
}
