import type { Context } from '../buildroot/layers/context.ts';
import { resolveSelection, savedChain, selectConfig, writeWorkspace } from '../buildroot/layers/workspace.ts';
import { SkiffError } from '../lib/errors.ts';
import { defineCommand } from './command.ts';

export const configure = defineCommand({
  description:
    "Resolves SKIFF_CONFIG (or the workspace's saved chain) and writes workspaces/<SKIFF_WORKSPACE>/:\nthe merged buildroot/kernel/busybox/uboot/debian configs, overlay order, hooks and stack.json.\n`skiff configure compile` then builds it, as `make configure compile` in SkiffOS.",
  flags: {
    json: { type: 'boolean', help: 'with compile: the manifest as JSON on stdout' },
  },
  positionals: [{ name: 'compile', help: 'build the workspace once configured', choices: ['compile'] }],
  async run({ flags, positionals, context }) {
    const andCompile = positionals[0] === 'compile';
    if (flags.json && !andCompile) throw new SkiffError('--json prints the manifest of a build; configure alone builds nothing', 'use `skiff configure compile --json`');
    const ctx = context();
    configureWorkspace(ctx);
    if (!andCompile) return 0;
    const { compileWorkspace } = await import('./compile.ts');
    return compileWorkspace(ctx, Boolean(flags.json));
  },
});

export function configureWorkspace(ctx: Context): void {
  const sel = selectConfig(ctx);
  if (!sel) {
    throw new SkiffError(
      `SKIFF_CONFIG is empty and workspace "${ctx.workspace}" has no saved configuration`,
      'set SKIFF_CONFIG, e.g. `SKIFF_CONFIG=browser/v86 skiff configure` (`skiff layers` lists the layers)',
    );
  }
  const before = savedChain(ctx);
  const r = resolveSelection(ctx, sel);
  const chain = r.chain.join(',');
  if (sel.from === 'workspace') process.stdout.write(`SKIFF_CONFIG is not set: using workspace "${ctx.workspace}"'s saved configuration ${chain}\n`);
  else if (before && before !== chain) process.stdout.write(`Workspace "${ctx.workspace}" was configured as ${before}; replacing it with ${chain}\n`);
  const dir = writeWorkspace(ctx, r);
  process.stdout.write(`Configured workspace "${ctx.workspace}":\n`);
  for (const l of r.configuration.stack) process.stdout.write(`  ${l.role.padEnd(20)}${l.id}  (${l.dir})\n`);
  process.stdout.write(`Merged configuration written to ${dir}\n`);
}
