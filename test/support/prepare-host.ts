// npm pretest: the host tools the tests need (kernel build tools, cross compilers, QEMU, SeaBIOS, OVMF, syslinux, Chromium, ssh),
// installed with apt-get when we are root, or named with the command to install them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const isRoot = process.getuid?.() === 0;

for (const config of ['browser/v86', 'browser/v86,skiff/core', 'virt/qemu', 'virt/qemu,skiff/core', 'virt/qemu_arm64', 'virt/qemu_armhf', 'orangepi/zero', 'pine64/rock64', 'intel/desktop', 'pcengines/apu2', 'virt/virtualbox']) {
  const doctor = (fix: boolean) =>
    spawnSync(process.execPath, [path.join(root, 'bin/skiff.js'), 'doctor', ...(fix ? ['--fix'] : [])], {
      env: { ...process.env, SKIFF_CONFIG: config },
      stdio: fix ? 'inherit' : 'pipe',
      encoding: 'utf8',
    });
  const check = doctor(false);
  if (check.status === 0) continue;
  if (!isRoot) {
    process.stderr.write(check.stdout);
    process.exit(1);
  }
  if (doctor(true).status !== 0) process.exit(1);
}

// Beyond the images' own needs: Chromium for e2e/, squashfs-tools for the squashfs build test.
const extra: [string, string][] = [
  [process.env.SKIFF_CHROMIUM || '/usr/bin/chromium', 'chromium'],
  ['/usr/bin/mksquashfs', 'squashfs-tools'],
  // socat turns QEMU's serial socket into a pty for the serial target's test.
  ['/usr/bin/socat', 'socat'],
  // Board format/install (test/unit/flash.test.ts): partition table, FAT without mounting, ext4 inspection.
  ['/usr/sbin/sfdisk', 'fdisk'],
  ['/usr/bin/mcopy', 'mtools'],
  ['/usr/sbin/debugfs', 'e2fsprogs'],
  // skiff push (test/extra/deploy.test.ts): the system's OpenSSH client and ssh-keygen.
  ['/usr/bin/ssh', 'openssh-client'],
];
const missing = extra.filter(([file]) => !fs.existsSync(file)).map(([, pkg]) => pkg);
if (missing.length > 0) {
  const cmd = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!isRoot) {
    process.stderr.write(`The tests need ${missing.join(', ')}: ${cmd}\n`);
    process.exit(1);
  }
  spawnSync('apt-get', ['update'], { stdio: 'inherit' });
  if (spawnSync('sh', ['-c', cmd], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status !== 0) process.exit(1);
}
