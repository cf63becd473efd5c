import { SkiffError } from '../lib/errors.ts';
import { defineCommand } from './command.ts';

// Upstream SkiffOS users type `make br/menuconfig`; say plainly why it cannot work here.
export const br = defineCommand({
  description:
    'Not available. Upstream SkiffOS runs Buildroot make targets here (make br/menuconfig); this project has\nno Buildroot: it builds with the debian backend (`skiff compile`), from Debian packages, offline.\nThe command stays only to say so.',
  flags: {},
  positionals: [{ name: 'target', help: 'a Buildroot make target, e.g. menuconfig (refused)' }],
  run() {
    throw new SkiffError(
      'there is no Buildroot in this project: it builds with the debian backend, so Buildroot targets (make br/...) do not exist',
      'configure and build with `skiff configure compile`; change the kernel or packages in the layers (kernel/, debian/) and run `skiff resolve` to see the result',
    );
  },
});
