import { describe, expect, it } from 'vitest';
import { archInfo } from '../../buildroot/debian/arch.ts';
import { checkCoreRequest, debpathPackages } from '../../buildroot/debian/core.ts';

describe('the core image plan', () => {
  const req = { image: 'skiffos/skiff-core-debian:bookworm', recipe: 'debootstrap', suite: 'bookworm', layerHint: 'x/y,skiff/core' };
  it.skipIf(process.arch !== 'x64')('leaves debootstrap\'s second stage to the device only where this host cannot run it, or when a layer asks', () => {
    // This host is x86: amd64 and i386 programs run here, arm and riscv ones do not.
    expect(checkCoreRequest(req, archInfo('amd64'))).toBe(false);
    expect(checkCoreRequest(req, archInfo('i386'))).toBe(false);
    for (const arch of ['arm64', 'armhf', 'riscv64']) expect(checkCoreRequest(req, archInfo(arch)), arch).toBe(true);
    expect(checkCoreRequest(req, archInfo('amd64'), 'yes')).toBe(true);
    expect(() => checkCoreRequest(req, archInfo('arm64'), 'no')).toThrow(/CORE_ROOTFS_ON_DEVICE=no, but this x64 host cannot run arm64 programs/);
    expect(() => checkCoreRequest(req, archInfo('amd64'), 'maybe')).toThrow(/CORE_ROOTFS_ON_DEVICE=maybe is neither yes nor no/);
    expect(() => checkCoreRequest(req, archInfo('i386'), 'yes', 'v86')).toThrow(/the browser reads the core image in place/);
    expect(() => checkCoreRequest({ ...req, recipe: 'pull' }, archInfo('amd64'))).toThrow(/needs network access to a container registry/);
  });

  it('lists a first-stage tree\'s packages from debootstrap\'s debpaths, epochs decoded', () => {
    const debpaths = 'bash /var/cache/apt/archives/bash_5.2.15-2+b7_arm64.deb\nlibc6 /var/cache/apt/archives/libc6_2.36-9+deb12u9_arm64.deb\nperl-base /var/cache/apt/archives/perl-base_5.36.0-7+deb12u1_arm64.deb\nsysvinit-utils /var/cache/apt/archives/sysvinit-utils_3.06-4_arm64.deb\nmawk /var/cache/apt/archives/mawk_1.3.4.20200120-3.1_arm64.deb\ne2fsprogs /var/cache/apt/archives/e2fsprogs_1%3a1.47.0-2_arm64.deb\n';
    expect(debpathPackages(debpaths).split('\n')).toContain('e2fsprogs 1:1.47.0-2');
    expect(debpathPackages(debpaths).split('\n')[0]).toBe('bash 5.2.15-2+b7');
  });
});
