import path from 'node:path';
import { Client } from 'ssh2';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Console } from '../../harness/console.ts';
import { freePort, QemuMachine } from '../../harness/qemu.ts';
import { testKeyPair } from '../../harness/ssh.ts';
import { buildImage, buildTimeout } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { tempDir } from '../support/tree.ts';
import { BOOT_MARKER_LINE } from '../../images/boot-marker.ts';

let imageDir = '';
const machines: QemuMachine[] = [];

// virt/qemu with the suite's x86_64 test kernel (docker's options added): see test/layers/README.md.
beforeAll(async () => {
  imageDir = await buildImage(IMAGES.amd64.qemu, 'test-qemu');
}, buildTimeout(1));

afterEach(async () => {
  for (const m of machines.splice(0)) await m.powerOff();
}, 60_000);

async function boot(disk: string, sshPort: number) {
  const machine = new QemuMachine({ imageDir, disk, sshPort });
  machines.push(machine);
  const console = new Console(machine);
  await console.waitFor(BOOT_MARKER_LINE, 180_000);
  await console.run('true');
  return { machine, console };
}

/** Tries an SSH login on 127.0.0.1; resolves with the command's output or rejects with the reason. */
function ssh(port: number, auth: { privateKey?: string; password?: string }, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .on('ready', () => {
        client.exec(command, (err, stream) => {
          if (err) return reject(err);
          let out = '';
          stream.on('data', (d: Buffer) => (out += d)).on('close', () => {
            client.end();
            resolve(out);
          });
        });
      })
      .on('error', reject)
      .connect({ host: '127.0.0.1', port, username: 'root', readyTimeout: 30_000, tryKeyboard: false, ...auth });
  });
}

describe('virt/qemu image in qemu-system-x86_64', () => {
  it('boots, takes an SSH key from persist, logs in with it and refuses a password', async () => {
    const disk = path.join(tempDir(), 'persist.img');
    const keys = testKeyPair('skiff-test');
    const port = await freePort();

    const first = await boot(disk, port);
    expect((await first.console.run('uname -m')).output.trim()).toBe('x86_64');
    const put = await first.console.run(`echo '${keys.public}' > /mnt/persist/skiff/keys/test.pub && sync`);
    expect(put.status).toBe(0);
    await first.machine.powerOff();

    const second = await boot(disk, port);
    expect((await second.console.run('cat /root/.ssh/authorized_keys')).output).toContain('skiff-test');
    const out = await ssh(port, { privateKey: keys.private }, 'cat /etc/skiff/release; hostname');
    expect(out).toContain(`SKIFF_CONFIG=${IMAGES.amd64.qemu}\n`);
    await expect(ssh(port, { password: 'root' }, 'true')).rejects.toThrow(/authentication methods failed/i);
  }, 10 * 60_000);
});
