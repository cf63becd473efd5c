import path from 'node:path';
import { type Catalog, findLayer, type Layer } from './discover.ts';
import { SkiffError } from '../../lib/errors.ts';
import { readMeta } from './metadata.ts';
import { checkLayerName, splitLayerList } from './names.ts';

/** The layer every image starts from, and the one that closes the stack (both implicit). */
export const PRE_LAYER = 'skiff/base';
export const POST_LAYER = 'skiff/post';

/**
 * SkiffOS's chain resolution: the user's list, first occurrence of a duplicate kept; every
 * dependency the list lacks is inserted just before the layer that needs it, pass after pass
 * until nothing changes. A dependency the user listed stays where the user put it.
 */
export function resolveChain(catalog: Catalog, skiffConfig: string): string[] {
  const requested = splitLayerList(skiffConfig);
  if (requested.length === 0) {
    throw new SkiffError('SKIFF_CONFIG is empty', 'set it to a comma separated list of layers, e.g. SKIFF_CONFIG=browser/v86 (`skiff layers` lists them)');
  }
  for (const id of requested) findLayer(catalog, id);
  let list = [...new Set(requested)].filter((id) => id !== PRE_LAYER && id !== POST_LAYER);
  checkCycles(catalog, list);
  for (;;) {
    const next: string[] = [];
    let changed = false;
    for (const id of list) {
      if (next.includes(id)) continue;
      const layer = findLayer(catalog, id);
      for (const dep of readMeta(layer).dependencies) {
        findLayer(catalog, dep, path.join(layer.dir, 'metadata', 'dependencies'));
        if (dep === PRE_LAYER || dep === POST_LAYER) continue;
        if (!list.includes(dep) && !next.includes(dep)) {
          next.push(dep);
          changed = true;
        }
      }
      next.push(id);
    }
    list = next;
    if (!changed) return list;
  }
}

/** Upstream silently settles cycles; we refuse them and print the chain, e.g. a/x → b/y → a/x. */
function checkCycles(catalog: Catalog, roots: string[]): void {
  const done = new Set<string>();
  const visit = (id: string, trail: string[]) => {
    if (done.has(id)) return;
    const at = trail.indexOf(id);
    if (at >= 0) {
      const cycle = [...trail.slice(at), id];
      throw new SkiffError(
        `dependency cycle: ${cycle.join(' → ')}`,
        `remove one of these from a metadata/dependencies file: ${cycle
          .slice(0, -1)
          .map((c) => path.join(findLayer(catalog, c).dir, 'metadata', 'dependencies'))
          .join(', ')}`,
      );
    }
    const layer = findLayer(catalog, id, trail.length > 0 ? `${trail[trail.length - 1]}/metadata/dependencies` : 'SKIFF_CONFIG');
    for (const dep of readMeta(layer).dependencies) visit(dep, [...trail, id]);
    done.add(id);
  };
  for (const id of roots) {
    checkLayerName(id);
    visit(id, []);
  }
}

export type StackRole = 'pre' | 'chain' | 'overrides' | 'workspace-overrides' | 'post';

export interface StackLayer extends Layer {
  role: StackRole;
}
