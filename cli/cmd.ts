import { runExtensionCommand } from '../buildroot/layers/commands.ts';
import { resolveSelection } from '../buildroot/layers/workspace.ts';
import { defineCommand } from './command.ts';

export const cmd = defineCommand({
  description:
    "Runs a command a selected layer declares in metadata/commands: `make <command>` in the layer's\nextensions/, with the workspace's environment (SKIFF_WORKSPACE_DIR, SKIFF_IMAGES_DIR, ...).\n`skiff` lists the selected layers' commands; `make cmd/<ns>/<layer>/<command>` is the same.",
  flags: {},
  positionals: [{ name: 'namespace/layer/command', help: 'e.g. virt/qemu/run or pi/common/format', required: true, example: 'virt/qemu/run' }],
  async run({ positionals, context }) {
    const ctx = context();
    await runExtensionCommand(ctx, resolveSelection(ctx), positionals[0]!);
    return 0;
  },
});
