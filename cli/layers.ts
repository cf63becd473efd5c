import { discover } from '../buildroot/layers/discover.ts';
import { layerInfos } from '../buildroot/layers/help.ts';
import { defineCommand } from './command.ts';

export const layers = defineCommand({
  description: 'Every layer with its description, dependencies and target architecture.',
  flags: {
    json: { type: 'boolean', help: 'one JSON object per layer, unlisted ones included (flagged "unlisted")' },
    all: { type: 'boolean', help: 'also the unlisted layers' },
  },
  run({ flags, context }) {
    const catalog = discover(context());
    const infos = layerInfos(catalog);
    if (flags.json) {
      process.stdout.write(JSON.stringify(infos, null, 2) + '\n');
      return 0;
    }
    const shown = flags.all ? infos : infos.filter((i) => !i.unlisted);
    const w = Math.max(...shown.map((i) => i.id.length), 10) + 2;
    const aw = 9;
    process.stdout.write(`${'LAYER'.padEnd(w)}${'ARCH'.padEnd(aw)}DESCRIPTION\n`);
    for (const i of shown) {
      const deps = i.dependencies.length > 0 ? ` [needs ${i.dependencies.join(',')}]` : '';
      const flag = i.unlisted ? ' (unlisted)' : '';
      process.stdout.write(`${i.id.padEnd(w)}${(i.arch ?? '-').padEnd(aw)}${i.description}${deps}${flag}\n`);
    }
    for (const warn of catalog.warnings) process.stderr.write(`warning: ${warn}\n`);
    return 0;
  },
});
