import { describe, expect, it } from 'vitest';
import { contextFromEnv } from '../../buildroot/layers/context.ts';
import { discover } from '../../buildroot/layers/discover.ts';
import { unquote } from '../../buildroot/layers/fragments.ts';
import { readMeta } from '../../buildroot/layers/metadata.ts';
import { resolveChain } from '../../buildroot/layers/resolve.ts';
import { buildStack, mergeStack } from '../../buildroot/layers/stack.ts';
import { archInfo } from '../../buildroot/debian/arch.ts';
import { PROJECT } from '../support/tree.ts';
import { upstreamBoardLayers, upstreamBoards } from '../support/upstream-boards.ts';

const ctx = { ...contextFromEnv({}), rootDir: PROJECT };
const catalog = discover(ctx);
const layers = [...catalog.layers.keys()].sort();

describe('the layers in configs/', () => {
  it('include every board of upstream\'s Supported Systems table', () => {
    const boards = upstreamBoardLayers();
    expect(boards.length).toBeGreaterThan(45);
    expect(boards.filter((b) => !catalog.layers.has(b))).toEqual([]);
  });

  it.each(layers)('%s loads, describes itself, and resolves with skiff/core', (id) => {
    const meta = readMeta(catalog.layers.get(id)!);
    expect(meta.description.length, `${id} has no metadata/description`).toBeGreaterThan(10);
    const chain = resolveChain(catalog, `${id},skiff/core`);
    const c = mergeStack(buildStack(catalog, chain));
    // skiff/base and skiff/post are implicit: always in the stack, never in the chain.
    expect(c.stack.map((l) => l.id)).toContain(id);
    // skiff/core was listed last, so nothing moves it from there (a listed dependency stays put).
    expect(chain.at(-1)).toBe('skiff/core');
    const debian = c.configs.debian.final;
    const arch = unquote(debian.get('ARCH')?.value);
    if (arch) expect(() => archInfo(arch)).not.toThrow();
    if (unquote(debian.get('OFFLINE')?.value) === 'no') {
      expect(unquote(debian.get('OFFLINE_BLOCKER')?.value) ?? '', `${id} cannot build offline but does not say what to supply`).toMatch(/\S{10,}/);
    }
  });

  it('gives every board layer of upstream\'s table the architecture of its CPU', () => {
    const wrong = upstreamBoards().flatMap(({ layer, arch }) => {
      const c = mergeStack(buildStack(catalog, resolveChain(catalog, layer)));
      const set = unquote(c.configs.debian.final.get('ARCH')?.value);
      return set === arch ? [] : [`${layer}: ARCH=${set ?? '(unset)'}, expected ${arch}`];
    });
    expect(wrong).toEqual([]);
  });
});
