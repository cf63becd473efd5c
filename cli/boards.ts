import { boardRows, renderMarkdown, renderText } from '../buildroot/boards.ts';
import { SkiffError } from '../lib/errors.ts';
import { defineCommand } from './command.ts';

export const boards = defineCommand({
  description:
    'Every board and machine layer, each resolved on its own: architecture, bootloader, kernel defconfig,\nwhether the debian backend builds it offline (else what to supply) and how it was boot-tested.',
  flags: {
    json: { type: 'boolean', help: 'one object per board, with the full OFFLINE_BLOCKER' },
    markdown: { type: 'boolean', help: 'the table in the README' },
  },
  run({ flags, context }) {
    if (flags.json && flags.markdown) throw new SkiffError('--json and --markdown are two formats of the same table', 'choose one');
    const rows = boardRows(context());
    if (flags.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else process.stdout.write(flags.markdown ? renderMarkdown(rows) : renderText(rows));
    return 0;
  },
});
