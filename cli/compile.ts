import type { Context } from '../buildroot/layers/context.ts';
import { resolveSelection, savedChain, selectConfig } from '../buildroot/layers/workspace.ts';
import { compile as compileImages } from '../buildroot/debian/compile.ts';
import { SkiffError } from '../lib/errors.ts';
import { defineCommand } from './command.ts';

export const compile = defineCommand({
  description:
    'Builds the configured workspace into images/out/<workspace>/ with the debian backend: Debian packages\n(locked in images/debian-lock.json), the kernel from linux-source-6.1, the initramfs and a manifest;\na board\'s card (sdcard.img), a PC\'s disk (disk.img, and disk.vdi for virt/virtualbox), or for\nBOOT_METHOD=container|wsl no kernel but the root filesystem as rootfs.tar or rootfs.tar.gz.\nProgress goes to stderr. `skiff configure compile` configures first.',
  flags: {
    json: { type: 'boolean', help: 'the manifest as JSON on stdout' },
  },
  misplaced: {
    configure: () => new SkiffError('configure comes before compile: `skiff compile configure` would build the old configuration first; nothing was built', 'run `skiff configure compile`'),
  },
  run({ flags, context }) {
    return compileWorkspace(context(), Boolean(flags.json));
  },
});

export async function compileWorkspace(ctx: Context, json: boolean): Promise<number> {
  const saved = savedChain(ctx);
  if (!saved) throw new SkiffError(`workspace "${ctx.workspace}" is not configured`, 'run `skiff configure` first (with SKIFF_CONFIG set)');
  const sel = selectConfig(ctx)!;
  const r = resolveSelection(ctx, sel);
  if (sel.from === 'workspace') process.stderr.write(`SKIFF_CONFIG is not set: compiling workspace "${ctx.workspace}"'s saved configuration ${saved}\n`);
  else if (r.chain.join(',') !== saved) {
    throw new SkiffError(
      `SKIFF_CONFIG resolves to ${r.chain.join(',')} but workspace "${ctx.workspace}" is configured as ${saved}`,
      'run `skiff configure` to switch the workspace, or unset SKIFF_CONFIG to compile the saved one',
    );
  }
  const manifest = await compileImages(ctx, r);
  if (json) process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
  return 0;
}
