// Skiff Core's scenario for `skiff test` (any target with a shell): the core user lands in the
// Debian container, and a file in its home there survives a reboot.
import { check, type Scenario, sh } from '../../../../harness/scenarios.ts';

export const scenarios: Scenario[] = [
  {
    name: 'core',
    description: '`su - core` lands in the Debian core container, whose home survives a reboot',
    needs: ['reboot'],
    async run({ target, note }) {
      // The first login may import the image and start the container: minutes on a slow target.
      const release = await sh(target, "su - core -c 'cat /etc/os-release; id -un'", 600_000);
      check(/^ID=debian$/m.test(release), `su - core did not reach Debian:\n${release.split('\n').slice(-5).join('\n')}`);
      check(/^core$/m.test(release), 'the shell in the container does not run as core');
      const token = Math.random().toString(36).slice(2, 10);
      await sh(target, `su - core -c 'echo ${token} > ~/harness-core && sync'`, 120_000);
      await target.powerCycle(false);
      const back = await sh(target, "su - core -c 'cat ~/harness-core; rm -f ~/harness-core'", 600_000);
      check(back.split('\n').includes(token), `the file written in the container before the reboot is gone (read: ${back.slice(-200)})`);
      note(`Debian in the container; wrote ${token} in core's home and read it back after a reboot`);
    },
  },
];
