import { FRAGMENT_KINDS, renderSetting } from '../buildroot/layers/fragments.ts';
import { describeResolution, type Resolution, resolveSelection } from '../buildroot/layers/workspace.ts';
import { SkiffError } from '../lib/errors.ts';
import { defineCommand } from './command.ts';
import { shown } from '../lib/printable.ts';

export const resolve = defineCommand({
  description: 'The resolved layer order and merged configuration, each symbol with the layer and file that set it last.',
  flags: {
    json: { type: 'boolean', help: 'the stack, every merged symbol with its layer and file, overlays, hooks, commands' },
    explain: { type: 'string', value: 'SYMBOL', example: 'CONFIG_SERIAL_8250', help: 'who set SYMBOL, and every earlier value it overrode' },
  },
  run({ flags, context }) {
    if (flags.json && flags.explain !== undefined) throw new SkiffError('--explain prints text and has no --json form', 'use one of them');
    const ctx = context();
    const r = resolveSelection(ctx);
    if (flags.explain !== undefined) return explainSymbol(r, flags.explain);
    if (flags.json) {
      process.stdout.write(JSON.stringify(describeResolution(ctx, r), null, 2) + '\n');
      return 0;
    }
    const from = r.selection.from === 'workspace' ? `saved in workspace "${ctx.workspace}"` : 'from SKIFF_CONFIG';
    process.stdout.write(`Resolved stack (${from}):\n`);
    r.configuration.stack.forEach((l, i) => process.stdout.write(`  ${String(i + 1).padStart(2)}. ${l.id.padEnd(28)}${l.role}\n`));
    for (const kind of FRAGMENT_KINDS) {
      const merged = r.configuration.configs[kind];
      if (merged.final.size === 0) continue;
      process.stdout.write(`\n[${kind}]\n`);
      for (const s of merged.final.values()) process.stdout.write(`  ${renderSetting(s)}    # ${s.layer}\n`);
    }
    return 0;
  },
});

function explainSymbol(r: Resolution, symbol: string): number {
  let found = false;
  for (const kind of FRAGMENT_KINDS) {
    const history = r.configuration.configs[kind].history.get(symbol);
    if (!history) continue;
    found = true;
    const last = history[history.length - 1]!;
    const where = (s: typeof last) => (s.line > 0 ? `${s.file}:${s.line}` : `${s.file} from ${s.layer}`);
    process.stdout.write(`${symbol} (${kind}) = ${last.value ?? 'is not set'}\n  set by ${last.layer} at ${where(last)}\n`);
    const earlier = history.slice(0, -1).reverse();
    if (earlier.length === 0) process.stdout.write('  overrides nothing: no earlier layer sets it\n');
    for (const s of earlier) process.stdout.write(`  overrides ${s.value ?? 'is not set'} from ${s.layer} at ${where(s)}\n`);
  }
  if (!found) {
    throw new SkiffError(`no layer in ${r.chain.join(',')} sets ${shown(symbol)}`, 'check the spelling (symbols are case sensitive, e.g. BR2_LINUX_KERNEL_DEFCONFIG)');
  }
  return 0;
}
