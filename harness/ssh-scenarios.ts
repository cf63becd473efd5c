import { check, type Scenario, sh } from './scenarios.ts';
import { testKeyPair } from './ssh.ts';

/** Node-only (ssh2): a key placed in persist authorizes SSH as root; a password is refused. */
export const sshKeys: Scenario = {
  name: 'ssh-keys',
  description: 'a public key in skiff/keys on persist authorizes SSH; a password login is refused',
  needs: ['ssh', 'reboot'],
  async run({ target, note }) {
    const keys = testKeyPair('skiff-harness');
    await sh(target, `echo '${keys.public}' > /mnt/persist/skiff/keys/harness.pub && sync`);
    await target.powerCycle(false);
    const out = await target.ssh!('cat /etc/skiff/release', { user: 'root', privateKey: keys.private });
    check(out.includes('SKIFF_VERSION='), `SSH with the key did not run the command: ${out}`);
    let refused = false;
    await target.ssh!('true', { user: 'root', password: 'root' }).catch(() => (refused = true));
    check(refused, 'a password login was accepted');
    await sh(target, 'rm /mnt/persist/skiff/keys/harness.pub && sync');
    note('key login worked, password login was refused');
  },
};
