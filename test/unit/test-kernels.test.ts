import { describe, expect, it } from 'vitest';
import { contextFromEnv } from '../../buildroot/layers/context.ts';
import { discover } from '../../buildroot/layers/discover.ts';
import { renderSetting, unquote } from '../../buildroot/layers/fragments.ts';
import { resolveChain } from '../../buildroot/layers/resolve.ts';
import { buildStack, mergeStack } from '../../buildroot/layers/stack.ts';
import { IMAGES, withTestLayers } from '../support/test-kernels.ts';
import { PROJECT } from '../support/tree.ts';

// The integration tests compile one kernel per architecture only while the images of each
// architecture ask for the same final configuration (the kernel cache's key): a new option in one
// of their layers would quietly add a kernel build of several minutes to every run.
const catalog = discover({ ...contextFromEnv(withTestLayers()), rootDir: PROJECT });

function kernelRequest(config: string) {
  const c = mergeStack(buildStack(catalog, resolveChain(catalog, config)));
  const debian = (key: string) => unquote(c.configs.debian.final.get(key)?.value);
  return {
    base: { arch: debian('ARCH'), defconfig: debian('KERNEL_DEFCONFIG'), image: debian('KERNEL_IMAGE'), patches: c.patches.kernel.map((p) => p.path) },
    settings: c.configs.kernel.final,
  };
}

describe.each(Object.entries(IMAGES))('the %s images of the integration tests', (arch, images) => {
  it('ask for one kernel configuration', () => {
    const [first, ...others] = Object.values(images) as string[];
    const ref = kernelRequest(first!);
    expect(ref.base.arch).toBe(arch);
    for (const config of others) {
      const other = kernelRequest(config);
      expect(other.base, config).toEqual(ref.base);
      // An option one side turns off and the other leaves alone is off in both, as tinyconfig
      // (allnoconfig) starts with every option off; any other difference is a second build.
      expect(ref.base.defconfig).toBe('tinyconfig');
      const differ = [...new Set([...ref.settings.keys(), ...other.settings.keys()])].filter((symbol) => {
        const [a, b] = [ref.settings.get(symbol), other.settings.get(symbol)];
        if (a && b) return a.value !== b.value;
        const only = (a ?? b)!;
        return only.value !== null && only.value !== 'n';
      });
      const show = (s: typeof ref.settings, symbol: string) => {
        const setting = s.get(symbol);
        return setting ? `${renderSetting(setting)} (${setting.layer})` : 'unset';
      };
      expect(differ.map((symbol) => `${symbol}: ${first} has ${show(ref.settings, symbol)}, ${config} has ${show(other.settings, symbol)}`)).toEqual([]);
    }
  });
});
