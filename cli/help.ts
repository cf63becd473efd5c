import { discover } from '../buildroot/layers/discover.ts';
import { renderHelp } from '../buildroot/layers/help.ts';
import { resolveSelection, selectConfig } from '../buildroot/layers/workspace.ts';
import { SkiffError } from '../lib/errors.ts';
import { didYouMean } from '../lib/suggest.ts';
import { defineCommand } from './command.ts';
import { shown } from '../lib/printable.ts';
import { commandNames, findCommand } from './registry.ts';
import { commandHelp, commandTable } from './usage.ts';

export const help = defineCommand({
  description: "The workspace, the selected configuration, every listed layer, the selected layers' commands\nand skiff's commands, as `make` prints them in SkiffOS. With a command: that command's help.",
  flags: {},
  positionals: [{ name: 'command', help: 'a command to explain, e.g. configure' }],
  async run({ positionals, context }) {
    const topic = positionals[0];
    if (topic !== undefined) {
      const entry = findCommand(topic);
      if (!entry) {
        const near = didYouMean(topic, commandNames());
        throw new SkiffError(`unknown command ${shown(topic)}`, `${near ? `${near} ` : ''}commands: ${commandNames().join(', ')}`);
      }
      process.stdout.write(commandHelp(entry, await entry.load()));
      return 0;
    }
    const ctx = context();
    const catalog = discover(ctx);
    const sel = selectConfig(ctx);
    let resolved;
    try {
      resolved = sel ? resolveSelection(ctx, sel) : undefined;
    } catch (err) {
      if (!(err instanceof SkiffError)) throw err;
      resolved = err;
    }
    process.stdout.write(renderHelp(ctx, catalog, resolved));
    process.stdout.write(
      ['', ...commandTable(), '', 'The Makefile keeps SkiffOS habits: make, make configure compile, make cmd/<ns>/<layer>/<command>.'].join('\n') + '\n',
    );
    return 0;
  },
});
