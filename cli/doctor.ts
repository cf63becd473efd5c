import { resolveSelection, selectConfig } from '../buildroot/layers/workspace.ts';
import { planBuild, planNeeds } from '../buildroot/debian/compile.ts';
import { fixHostTools, hostNeeds, installCommand, missingNeeds } from '../buildroot/debian/doctor.ts';
import { SkiffError } from '../lib/errors.ts';
import { defineCommand } from './command.ts';

export const doctor = defineCommand({
  description: 'Lists the host tools the selected configuration needs (any build when none is selected) and which are\nmissing; exit 1 when one is.',
  flags: {
    fix: { type: 'boolean', help: 'install the missing ones with apt-get (as root)' },
  },
  async run({ flags, context }) {
    const ctx = context();
    const sel = selectConfig(ctx);
    let needs = hostNeeds();
    let scope = 'any build';
    if (sel) {
      const plan = planBuild(resolveSelection(ctx, sel));
      needs = planNeeds(plan);
      scope = `${plan.arch.debian} (${plan.bootMethod})`;
    }
    const missing = missingNeeds(needs);
    process.stdout.write(`Host tools for ${scope}:\n`);
    for (const n of needs) process.stdout.write(`  ${missing.includes(n) ? 'missing' : 'ok     '}  ${n.what.padEnd(30)} ${n.pkg}\n`);
    if (missing.length === 0) {
      process.stdout.write('Everything the build needs is installed.\n');
      return 0;
    }
    if (!flags.fix) {
      process.stdout.write(`Install them with: ${installCommand(missing)}\n(or run \`skiff doctor --fix\` as root)\n`);
      return 1;
    }
    await fixHostTools(missing, (l) => process.stdout.write(l + '\n'));
    const still = missingNeeds(needs);
    if (still.length > 0) throw new SkiffError(`still missing after apt-get: ${still.map((m) => m.pkg).join(', ')}`, 'check the apt output above');
    process.stdout.write('All host tools installed.\n');
    return 0;
  },
});
