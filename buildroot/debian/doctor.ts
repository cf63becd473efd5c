import fs from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../../lib/errors.ts';
import { OVMF, type QemuFacts } from '../../images/manifest.ts';
import type { ArchInfo } from './arch.ts';
import { run } from './run.ts';

/** A host tool the build needs: a program on PATH or a file, and the Debian package that provides it. */
export interface HostNeed {
  what: string;
  pkg: string;
  program?: string;
  file?: string;
}

/** What the kernel build takes (not a root filesystem archive, which has no kernel). */
const KERNEL: HostNeed[] = [
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
  // The initramfs is zstd-compressed (and v86's core share is made of zstd files).
  { what: 'zstd', program: 'zstd', pkg: 'zstd' },
];

/** What every build takes: the target's Debian packages, unpacked. */
const ROOTFS: HostNeed[] = [
  { what: 'dpkg-deb', program: 'dpkg-deb', pkg: 'dpkg' },
  { what: 'apt-get', program: 'apt-get', pkg: 'apt' },
];

/** Debian's package of each QEMU system emulator a layer may name in QEMU_BINARY. */
const QEMU_PACKAGES: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-system-i386': 'qemu-system-x86',
  'qemu-system-aarch64': 'qemu-system-arm',
  'qemu-system-arm': 'qemu-system-arm',
  'qemu-system-riscv64': 'qemu-system-misc',
};

/** The QEMU a stack's QEMU_BINARY names, as a host need. */
export function qemuNeed(qemu: Pick<QemuFacts, 'binary'>): HostNeed {
  return { what: `QEMU (${qemu.binary})`, program: qemu.binary, pkg: QEMU_PACKAGES[qemu.binary] ?? 'qemu-system' };
}

/** What booting the stack's image in QEMU takes: the emulator and the firmware its layers name. */
export function qemuNeeds(qemu: Pick<QemuFacts, 'binary' | 'firmware'>): HostNeed[] {
  return [qemuNeed(qemu), ...(qemu.firmware === 'ovmf' ? [{ what: 'OVMF (UEFI for QEMU)', file: OVMF.vars, pkg: 'ovmf' }] : [])];
}

/** What the board `format` and `install` commands run: partition table, FAT, ext4. */
export const CARD_NEEDS: Record<'format' | 'install', HostNeed[]> = {
  format: [
    { what: 'sfdisk', program: 'sfdisk', pkg: 'fdisk' },
    { what: 'mformat', program: 'mformat', pkg: 'mtools' },
    { what: 'mcopy', program: 'mcopy', pkg: 'mtools' },
    { what: 'mke2fs', program: 'mke2fs', pkg: 'e2fsprogs' },
  ],
  install: [
    { what: 'sfdisk', program: 'sfdisk', pkg: 'fdisk' },
    { what: 'mcopy', program: 'mcopy', pkg: 'mtools' },
  ],
};

/** What writing a card or disk image takes at build time (mke2fs comes with every kernel build). */
const IMAGE_NEEDS = CARD_NEEDS.format.filter((n) => n.program !== 'mke2fs');

/** What building (and booting, for the emulator targets) the given architecture and boot method needs. */
export function hostNeeds(arch?: ArchInfo, bootMethod?: string, extras: { squashfs?: boolean; core?: boolean; qemu?: QemuFacts; vdi?: boolean; kernel?: boolean } = {}): HostNeed[] {
  // A container or WSL root filesystem (kernel: false) is packed with tar, not booted by a kernel of ours.
  const needs = extras.kernel === false ? [...ROOTFS, { what: 'GNU tar', program: 'tar', pkg: 'tar' }] : [...KERNEL, ...ROOTFS];
  if (extras.squashfs || extras.core) needs.push({ what: 'mksquashfs', program: 'mksquashfs', pkg: 'squashfs-tools' });
  if (extras.core) {
    // Skiff Core: the manager is Go (with Debian's YAML library), the core image comes from debootstrap.
    needs.push(
      { what: 'Go compiler', program: 'go', pkg: 'golang-go' },
      { what: 'Go YAML library', file: '/usr/share/gocode/src/gopkg.in/yaml.v3/yaml.go', pkg: 'golang-gopkg-yaml.v3-dev' },
      { what: 'debootstrap', program: 'debootstrap', pkg: 'debootstrap' },
    );
  }
  if (arch?.crossCompile && extras.kernel !== false) needs.push({ what: `${arch.debian} cross compiler`, program: `${arch.crossCompile}gcc`, pkg: arch.compilerPackage });
  if (bootMethod === 'v86') needs.push({ what: 'SeaBIOS for v86', file: '/usr/share/seabios/bios.bin', pkg: 'seabios' });
  if (bootMethod?.startsWith('uboot-')) {
    // The card image: a U-Boot script, the partition table and the two file systems.
    needs.push({ what: 'mkimage', program: 'mkimage', pkg: 'u-boot-tools' }, ...IMAGE_NEEDS);
  }
  if (bootMethod === 'efi' || bootMethod === 'bios') {
    // The disk image: partition table and FAT (rEFInd comes from the Debian mirror, like U-Boot).
    needs.push(...IMAGE_NEEDS);
  }
  if (bootMethod === 'bios') {
    // extlinux would need the file system mounted: syslinux installs the same loader through mtools.
    needs.push({ what: 'syslinux installer', program: 'syslinux', pkg: 'syslinux' }, { what: 'syslinux MBR boot code', file: '/usr/lib/syslinux/mbr/mbr.bin', pkg: 'syslinux-common' });
  }
  if (extras.vdi) needs.push({ what: 'qemu-img (disk.vdi)', program: 'qemu-img', pkg: 'qemu-utils' });
  // A Pi's card: the GPU firmware reads config.txt itself, so no script to wrap.
  if (bootMethod === 'rpi-firmware') needs.push(...IMAGE_NEEDS);
  // The image of a QEMU machine layer, or of a PC QEMU emulates, is booted in the tests right after the build.
  if ((bootMethod === 'qemu' || bootMethod === 'efi' || bootMethod === 'bios') && extras.qemu) needs.push(...qemuNeeds(extras.qemu));
  return needs;
}

/** A program's path: on PATH, else in sbin (not on a normal user's PATH, yet sfdisk and mke2fs live there). */
export function findProgram(program: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const d of [...(env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin']) {
    const p = path.join(d, program);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next folder
    }
  }
  return undefined;
}

export function missingNeeds(needs: HostNeed[], env: NodeJS.ProcessEnv = process.env): HostNeed[] {
  return needs.filter((n) => (n.program ? !findProgram(n.program, env) : !fs.existsSync(n.file!)));
}

export function installCommand(missing: HostNeed[]): string {
  return `apt-get install -y --no-install-recommends ${[...new Set(missing.map((m) => m.pkg))].join(' ')}`;
}

/**
 * Fails early, before any download, compile or write, when a host tool is missing; else the paths
 * of the programs, by name. `doctorKnows`: whether `skiff doctor --fix` installs these (a build's
 * tools), else the fix is the apt-get line alone (the card commands').
 */
export function requireHostTools(needs: HostNeed[], env: NodeJS.ProcessEnv = process.env, doctorKnows = true): Record<string, string> {
  const missing = missingNeeds(needs, env);
  if (missing.length > 0) {
    throw new SkiffError(
      `missing host tools: ${missing.map((m) => `${m.what} (${m.pkg})`).join(', ')}`,
      doctorKnows ? `run \`skiff doctor --fix\` as root, or: ${installCommand(missing)}` : `install them as root: ${installCommand(missing)}`,
    );
  }
  return Object.fromEntries(needs.filter((n) => n.program).map((n) => [n.program!, findProgram(n.program!, env)!]));
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
