import os from 'node:os';
import { SkiffError } from '../../lib/errors.ts';

/** What building for one Debian architecture takes. */
export interface ArchInfo {
  debian: string;
  /** The kernel's ARCH= value. */
  kernelArch: string;
  /** GNU triplet: the cross compiler prefix and the multiarch library folder. */
  triplet: string;
  /** Debian package of the cross compiler (empty when the host compiler builds it). */
  compilerPackage: string;
  crossCompile: string;
  /** ELF e_machine, to check that staged binaries are for this target. */
  elfMachine: number;
  /** The dynamic loader's path inside the root filesystem. */
  interpreter: string;
}

const HOST_IS_X86_64 = os.arch() === 'x64';

const TABLE: Record<string, Omit<ArchInfo, 'compilerPackage' | 'crossCompile'> & { cross: string; crossPackage: string; hostBuilds: boolean }> = {
  i386: { debian: 'i386', kernelArch: 'i386', triplet: 'i386-linux-gnu', cross: 'i686-linux-gnu-', crossPackage: 'gcc-i686-linux-gnu', hostBuilds: HOST_IS_X86_64, elfMachine: 3, interpreter: '/lib/ld-linux.so.2' },
  amd64: { debian: 'amd64', kernelArch: 'x86_64', triplet: 'x86_64-linux-gnu', cross: 'x86_64-linux-gnu-', crossPackage: 'gcc-x86-64-linux-gnu', hostBuilds: HOST_IS_X86_64, elfMachine: 62, interpreter: '/lib64/ld-linux-x86-64.so.2' },
  arm64: { debian: 'arm64', kernelArch: 'arm64', triplet: 'aarch64-linux-gnu', cross: 'aarch64-linux-gnu-', crossPackage: 'gcc-aarch64-linux-gnu', hostBuilds: false, elfMachine: 183, interpreter: '/lib/ld-linux-aarch64.so.1' },
  armel: { debian: 'armel', kernelArch: 'arm', triplet: 'arm-linux-gnueabi', cross: 'arm-linux-gnueabi-', crossPackage: 'gcc-arm-linux-gnueabi', hostBuilds: false, elfMachine: 40, interpreter: '/lib/ld-linux.so.3' },
  armhf: { debian: 'armhf', kernelArch: 'arm', triplet: 'arm-linux-gnueabihf', cross: 'arm-linux-gnueabihf-', crossPackage: 'gcc-arm-linux-gnueabihf', hostBuilds: false, elfMachine: 40, interpreter: '/lib/ld-linux-armhf.so.3' },
  riscv64: { debian: 'riscv64', kernelArch: 'riscv', triplet: 'riscv64-linux-gnu', cross: 'riscv64-linux-gnu-', crossPackage: 'gcc-riscv64-linux-gnu', hostBuilds: false, elfMachine: 243, interpreter: '/lib/ld-linux-riscv64-lp64d.so.1' },
};

export function archInfo(debianArch: string | undefined, layerHint = 'the selected layers'): ArchInfo {
  if (!debianArch) {
    throw new SkiffError(`${layerHint} set no target architecture`, 'a board or machine layer sets ARCH in its debian/config (e.g. ARCH=i386)');
  }
  const t = TABLE[debianArch];
  if (!t) throw new SkiffError(`unsupported ARCH=${debianArch}`, `the debian backend builds for ${Object.keys(TABLE).join(', ')}`);
  const { cross, crossPackage, hostBuilds, ...rest } = t;
  // The host's own gcc builds x86 kernels for both word sizes; other targets need Debian's cross gcc.
  return { ...rest, crossCompile: hostBuilds ? '' : cross, compilerPackage: hostBuilds ? 'gcc' : crossPackage };
}
