// Every skiff command: its name, one line for the overview, and its module, loaded only when the
// command runs (`skiff test` pulls in the harness; `skiff layers` should not pay for it).
import type { Command } from './command.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'help', summary: 'the workspace, the selected layers, every layer; `help <command>`: its options', load: async () => (await import('./help.ts')).help },
  { name: 'layers', summary: 'every layer: description, dependencies, architecture', load: async () => (await import('./layers.ts')).layers },
  { name: 'boards', summary: 'every board: arch, bootloader, kernel, offline build, boot test', load: async () => (await import('./boards.ts')).boards },
  { name: 'configure', summary: 'resolve SKIFF_CONFIG into workspaces/<workspace>/ (`configure compile` builds too)', load: async () => (await import('./configure.ts')).configure },
  { name: 'resolve', summary: 'the resolved stack and merged configuration; --explain SYMBOL', load: async () => (await import('./resolve.ts')).resolve },
  { name: 'compile', summary: 'build images/out/<workspace>/ with the debian backend', load: async () => (await import('./compile.ts')).compile },
  { name: 'doctor', summary: 'the host tools the selected build needs; --fix installs them', load: async () => (await import('./doctor.ts')).doctor },
  { name: 'lock', summary: 'download and verify the locked Debian packages; --update resolves them again', load: async () => (await import('./lock.ts')).lock },
  { name: 'cmd', summary: 'run a command a selected layer declares (make cmd/<ns>/<layer>/<command>)', load: async () => (await import('./cmd.ts')).cmd },
  { name: 'push', summary: 'send the built image to a running device over SSH, into its other boot slot; --reboot', load: async () => (await import('./push.ts')).push },
  { name: 'test', summary: 'boot the image on v86, QEMU or a lab board and run the test scenarios', load: async () => (await import('./test.ts')).test },
  { name: 'br', summary: 'not available: there is no Buildroot here, the debian backend builds', load: async () => (await import('./br.ts')).br },
];

export const commandNames = () => COMMANDS.map((c) => c.name);

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
