// `skiff cmd virt/qemu/run` (and virt/qemu_arm64, _armhf, _riscv64): boots the workspace's image
// on this terminal as its manifest says (the layers' QEMU_* keys), with the same command line the
// harness uses: the serial console and QEMU's monitor here (Ctrl-A X quits), a persist disk kept
// next to the image, SSH forwarded from 127.0.0.1 only.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { readManifest } from '../images/manifest.ts';
import { SkiffError } from '../lib/errors.ts';
import { qemuCommand } from './qemu.ts';

/** `2G`, `512M`, `1073741824`: a disk size as truncate(1) takes it. */
function diskBytes(text: string): number {
  const m = /^(\d+)([KMG]?)$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw new SkiffError(`SKIFF_QEMU_DISK_SIZE=${text} is not a size`, 'e.g. SKIFF_QEMU_DISK_SIZE=2G');
  return Number(m[1]) * 1024 ** ' KMG'.indexOf(m[2] || ' ');
}

function wholeNumber(name: string, value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new SkiffError(`${name}=${value} is not a whole number`, `e.g. ${name}=${name.endsWith('PORT') ? '2222' : '512'}`);
  return Number(value);
}

export function runQemu(env: NodeJS.ProcessEnv): number {
  const dir = env.SKIFF_IMAGES_DIR;
  if (!dir) throw new SkiffError('SKIFF_IMAGES_DIR is not set', 'run this through its layer command, e.g. skiff cmd virt/qemu/run');
  const manifest = readManifest(dir, env.SKIFF_CONFIG);
  const { binary, args } = qemuCommand(manifest, {
    imageDir: dir,
    disk: path.resolve(env.SKIFF_QEMU_DISK || path.join(dir, 'persist.img')),
    diskBytes: diskBytes(env.SKIFF_QEMU_DISK_SIZE || '2G'),
    memoryMB: wholeNumber('SKIFF_QEMU_MEMORY', env.SKIFF_QEMU_MEMORY || '512'),
    sshPort: wholeNumber('SKIFF_QEMU_SSH_PORT', env.SKIFF_QEMU_SSH_PORT || '2222'),
    terminal: true,
  });
  const r = spawnSync(binary, args, { stdio: 'inherit' });
  if (r.error) throw new SkiffError(`cannot run ${binary}: ${r.error.message}`, 'install it: skiff doctor --fix (as root) names its Debian package');
  return r.status ?? 1;
}
