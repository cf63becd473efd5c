import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../harness/qemu.ts';
import { readLab } from '../../harness/lab.ts';
import { SerialTarget } from '../../harness/targets/serial.ts';
import { buildImage, buildTimeout, skiffAsync } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { tempDir } from '../support/tree.ts';

function labFile(yaml: string): string {
  const f = path.join(tempDir(), 'lab.yaml');
  fs.writeFileSync(f, yaml);
  return f;
}

describe('the serial target, exercised without a board', () => {
  let dir = '';
  let lab = '';
  let sshPort = 0;

  beforeAll(async () => {
    // The x86_64 image of the suite (test/layers/README.md), booted by the lab file's own commands.
    const image = await buildImage(IMAGES.amd64.qemu, 'test-harness-qemu');
    dir = tempDir();
    sshPort = await freePort();
    // The "board": QEMU with its serial port on a socket that socat turns into a real pty, as a
    // USB serial adapter would be; power on and off are shell commands, as a USB relay would be.
    // Without -no-reboot a guest `reboot` restarts in place, as a board does.
    fs.writeFileSync(
      path.join(dir, 'on.sh'),
      `set -e
[ -f ${dir}/persist.img ] || truncate -s 256M ${dir}/persist.img
qemu-system-x86_64 -m 256 -display none -monitor none -kernel ${image}/bzImage -initrd ${image}/initramfs.cpio.zst \\
  -drive file=${dir}/persist.img,if=virtio,format=raw -netdev user,id=n0,hostfwd=tcp:127.0.0.1:${sshPort}-:22 -device virtio-net-pci,netdev=n0 \\
  -device virtio-rng-pci -serial unix:${dir}/serial.sock,server=on,wait=off -daemonize -pidfile ${dir}/qemu.pid
socat pty,raw,echo=0,link=${dir}/tty unix-connect:${dir}/serial.sock < /dev/null > /dev/null 2>&1 &
echo $! > ${dir}/socat.pid
`,
    );
    fs.writeFileSync(path.join(dir, 'off.sh'), `for p in qemu socat; do [ -f ${dir}/$p.pid ] && kill "$(cat ${dir}/$p.pid)" 2>/dev/null; rm -f ${dir}/$p.pid; done; sleep 0.3; true\n`);
    fs.writeFileSync(
      path.join(dir, 'scenarios.mts'),
      `export const scenarios = [{ name: 'kernel-release', description: 'a user scenario from the lab file', needs: [], async run({ target, note }) {
  const r = await target.console.run('uname -r');
  if (r.status !== 0 || !/^6\\.1\\./.test(r.output.trim())) throw new Error('unexpected kernel ' + r.output);
  note('kernel ' + r.output.trim());
} }];\n`,
    );
    lab = labFile(
      `targets:\n  lab-board:\n    kind: serial\n    serial: { device: ${dir}/tty, baud: 115200 }\n    power: { on: "sh ${dir}/on.sh", off: "sh ${dir}/off.sh" }\n    ssh: { host: 127.0.0.1, port: ${sshPort} }\nscenarios: [${dir}/scenarios.mts]\n`,
    );
  }, buildTimeout(1));

  afterAll(() => {
    // Whatever a failed test left running: the "board" off, its disk and tty gone.
    if (dir) spawnSync('sh', [path.join(dir, 'off.sh')]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('runs the scenarios over a real pty with serialport, power by commands and SSH by ssh2', async () => {
    const report = tempDir();
    const r = await skiffAsync(['test', '--lab', lab, '--target', 'lab-board', '--report', report], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('6 passed, 0 failed');
    expect(r.stderr).toContain('lab-board: kernel-release');
    expect(fs.readFileSync(path.join(report, 'junit.xml'), 'utf8')).toContain('name="ssh-keys"');
    // The power-off command ran at the end: no QEMU of this lab is left running.
    const left = spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout.split('\n').filter((a) => a.startsWith('qemu-system') && a.includes(dir));
    expect(left).toEqual([]);
  }, 10 * 60_000);

  it('says clearly when the serial port vanishes', async () => {
    const target = new SerialTarget(readLab(lab).targets.get('lab-board') as ConstructorParameters<typeof SerialTarget>[0]);
    try {
      await target.powerCycle(true);
      spawnSync('sh', [path.join(dir, 'off.sh')]);
      await new Promise((r) => setTimeout(r, 500));
      await expect(target.console.run('true', 3000)).rejects.toThrow(/serial port .*tty vanished/);
    } finally {
      await target.close();
    }
  }, 5 * 60_000);
});
