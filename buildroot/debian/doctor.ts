import fs from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../../lib/errors.ts';
import { type ArchInfo, QEMU_SYSTEM } from './arch.ts';
import { run } from './run.ts';

/** A host tool the build needs: a program on PATH or a file, and the Debian package that provides it. */
export interface HostNeed {
  what: string;
  pkg: string;
  program?: string;
  file?: string;
}

const BASE: HostNeed[] = [
  { what: 'make', program: 'make', pkg: 'make' },
  { what: 'C compiler', program: 'gcc', pkg: 'gcc' },
  { what: 'flex', program: 'flex', pkg: 'flex' },
  { what: 'bison', program: 'bison', pkg: 'bison' },
  { what: 'bc', program: 'bc', pkg: 'bc' },
  { what: 'perl', program: 'perl', pkg: 'perl' },
  { what: 'libelf headers', file: '/usr/include/libelf.h', pkg: 'libelf-dev' },
  { what: 'OpenSSL headers', file: '/usr/include/openssl/ssl.h', pkg: 'libssl-dev' },
  { what: 'cpio', program: 'cpio', pkg: 'cpio' },
  { what: 'patch (kernel_patches/)', program: 'patch', pkg: 'patch' },
  { what: 'xz', program: 'xz', pkg: 'xz-utils' },
  { what: 'kernel source', file: '/usr/src/linux-source-6.1.tar.xz', pkg: 'linux-source-6.1' },
  { what: 'e2fsprogs (mke2fs, e2fsck)', program: 'mke2fs', pkg: 'e2fsprogs' },
  { what: 'dpkg-deb', program: 'dpkg-deb', pkg: 'dpkg' },
  { what: 'apt-get', program: 'apt-get', pkg: 'apt' },
  // The initramfs is zstd-compressed (and v86's core share is made of zstd files).
  { what: 'zstd', program: 'zstd', pkg: 'zstd' },
];

/** What building (and booting, for the emulator targets) the given architecture and boot method needs. */
export function hostNeeds(arch?: ArchInfo, bootMethod?: string, extras: { squashfs?: boolean; core?: boolean } = {}): HostNeed[] {
  const needs = [...BASE];
  if (extras.squashfs || extras.core) needs.push({ what: 'mksquashfs', program: 'mksquashfs', pkg: 'squashfs-tools' });
  if (extras.core) {
    // Skiff Core: the manager is Go (with Debian's YAML library), the core image comes from debootstrap.
    needs.push(
      { what: 'Go compiler', program: 'go', pkg: 'golang-go' },
      { what: 'Go YAML library', file: '/usr/share/gocode/src/gopkg.in/yaml.v3/yaml.go', pkg: 'golang-gopkg-yaml.v3-dev' },
      { what: 'debootstrap', program: 'debootstrap', pkg: 'debootstrap' },
    );
  }
  if (arch?.crossCompile) needs.push({ what: `${arch.debian} cross compiler`, program: `${arch.crossCompile}gcc`, pkg: arch.compilerPackage });
  if (bootMethod === 'v86') needs.push({ what: 'SeaBIOS for v86', file: '/usr/share/seabios/bios.bin', pkg: 'seabios' });
  if (bootMethod?.startsWith('uboot-')) {
    // The card image: a U-Boot script, the partition table and the two file systems.
    needs.push(
      { what: 'mkimage', program: 'mkimage', pkg: 'u-boot-tools' },
      { what: 'sfdisk', file: '/usr/sbin/sfdisk', pkg: 'fdisk' },
      { what: 'mtools (mformat, mcopy)', program: 'mcopy', pkg: 'mtools' },
    );
  }
  if (bootMethod === 'qemu') {
    const q = QEMU_SYSTEM[arch?.debian ?? 'amd64'] ?? QEMU_SYSTEM.amd64!;
    needs.push({ what: `QEMU for ${arch?.debian ?? 'amd64'}`, program: q.binary, pkg: q.pkg });
  }
  return needs;
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && fs.existsSync(path.join(d, program)));
}

export function missingNeeds(needs: HostNeed[]): HostNeed[] {
  return needs.filter((n) => (n.program ? !onPath(n.program) : !fs.existsSync(n.file!)));
}

export function installCommand(missing: HostNeed[]): string {
  return `apt-get install -y --no-install-recommends ${[...new Set(missing.map((m) => m.pkg))].join(' ')}`;
}

/** Fails early, before any download or compile, when a host tool is missing. */
export function requireHostTools(needs: HostNeed[]): void {
  const missing = missingNeeds(needs);
  if (missing.length === 0) return;
  throw new SkiffError(
    `missing host tools: ${missing.map((m) => `${m.what} (${m.pkg})`).join(', ')}`,
    `run \`skiff doctor --fix\` as root, or: ${installCommand(missing)}`,
  );
}

export async function fixHostTools(missing: HostNeed[], log: (l: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) throw new SkiffError('`skiff doctor --fix` installs packages and needs root', `run as root: ${installCommand(missing)}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log('running: apt-get update');
  // One failing index (a mirror mid-sync) must not stop the install: the packages come from the main suite.
  await run('apt-get', ['update'], { env }).catch((err: Error) => log(`apt-get update reported errors, installing anyway:\n${err.message}`));
  log(`running: ${installCommand(missing)}`);
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...new Set(missing.map((m) => m.pkg))], {
    env,
    onLine: (l) => log(`  ${l}`),
  });
}
