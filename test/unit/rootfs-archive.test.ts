// virt/docker and virt/wsl: a root filesystem archive instead of a kernel and initramfs. The plan,
// the host tools, the archive's member list and the manifest; the build itself and a start in a
// chroot are in test/extra/rootfs-archive.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planBuild, planNeeds } from '../../buildroot/debian/compile.ts';
import { addArchiveLinks, archiveMembers } from '../../buildroot/debian/rootfs-archive.ts';
import { resolveSelection } from '../../buildroot/layers/workspace.ts';
import { readManifest } from '../../images/manifest.ts';
import { sampleManifest } from '../support/manifest.ts';
import { refusal } from '../support/refusal.ts';
import { ctxFor, extraLayers, PROJECT, tempDir, writeTree } from '../support/tree.ts';

const plan = (config: string, env: NodeJS.ProcessEnv = {}) => planBuild(resolveSelection(ctxFor(PROJECT, env), { config, from: 'SKIFF_CONFIG' }));

describe('the plan of a root filesystem archive', () => {
  it('virt/docker writes rootfs.tar and virt/wsl rootfs.tar.gz, with no kernel', () => {
    const docker = plan('virt/docker');
    expect(docker.kernel).toBeUndefined();
    expect(docker.rootfsArchive).toEqual({ file: 'rootfs.tar', importCommand: 'docker import rootfs.tar skiffos' });
    const wsl = plan('virt/wsl');
    expect(wsl.kernel).toBeUndefined();
    expect(wsl.rootfsArchive?.file).toBe('rootfs.tar.gz');
    // A kernel image keeps its kernel and writes no archive.
    const qemu = plan('virt/qemu');
    expect(qemu.kernel?.image).toBe('bzImage');
    expect(qemu.rootfsArchive).toBeUndefined();
  });

  it('needs tar and the package tools, not the kernel\'s compiler and source', () => {
    const needs = planNeeds(plan('virt/docker')).map((n) => n.pkg);
    expect(needs).toEqual(['dpkg', 'apt', 'tar']);
    const kernelNeeds = planNeeds(plan('virt/qemu')).map((n) => n.pkg);
    expect(kernelNeeds).toContain('linux-source-6.1');
    expect(kernelNeeds).toContain('gcc');
  });

  it('refuses kernel keys on a container, Skiff Core inside one, and a kernel image without kernel keys', () => {
    const env = extraLayers({
      'test/dockerk': 'ARCH=amd64\nBOOT_METHOD=container\nKERNEL_DEFCONFIG=tinyconfig\n',
      'test/efi': 'ARCH=amd64\nBOOT_METHOD=efi\nKERNEL_IMAGE=bzImage\n',
    });
    const kernel = refusal(() => plan('test/dockerk', env));
    expect(kernel.message).toBe('test/dockerk sets KERNEL_DEFCONFIG, but BOOT_METHOD=container runs on its host\'s kernel and builds none');
    expect(kernel.fix).toContain('remove KERNEL_DEFCONFIG');
    const core = refusal(() => plan('virt/docker,skiff/core'));
    expect(core.message).toMatch(/^virt\/docker,.*skiff\/core: Skiff Core is not built into a container root filesystem yet/);
    expect(core.fix).toContain('drop skiff/core');
    const efi = refusal(() => plan('test/efi', env));
    expect(efi.message).toBe('no layer of test/efi sets KERNEL_DEFCONFIG');
    expect(efi.fix).toBe('set KERNEL_DEFCONFIG in the board or machine layer\'s debian/config (only BOOT_METHOD=container or wsl builds without a kernel)');
  });
});

describe('the archive\'s members', () => {
  it('are relative, in byte order, parents first, with /sbin/init and /bin/sh added as links to busybox', () => {
    const tree = tempDir();
    writeTree(tree, { 'bin/busybox': 'x', 'etc/Z': '', 'etc/a': '', 'etc/skiff/release': '' });
    fs.mkdirSync(path.join(tree, 'sbin'));
    addArchiveLinks(tree);
    expect(fs.readlinkSync(path.join(tree, 'sbin/init'))).toBe('/bin/busybox');
    expect(fs.readlinkSync(path.join(tree, 'bin/sh'))).toBe('busybox');
    expect(archiveMembers(tree)).toEqual(['bin', 'bin/busybox', 'bin/sh', 'etc', 'etc/Z', 'etc/a', 'etc/skiff', 'etc/skiff/release', 'sbin', 'sbin/init']);
  });

  it('keep a layer\'s own /bin/sh', () => {
    const tree = tempDir();
    writeTree(tree, { 'bin/busybox': 'x', 'bin/sh': '#!/bin/busybox sh\n' });
    addArchiveLinks(tree);
    expect(fs.lstatSync(path.join(tree, 'bin/sh')).isFile()).toBe(true);
  });
});

describe('the manifest', () => {
  it('of an archive has no kernel and names the archive; one with a kernel still reads', () => {
    const dir = tempDir();
    const { kernel: _kernel, ...rest } = sampleManifest({});
    const archive = { ...rest, bootMethod: 'container', rootfsArchive: { file: 'rootfs.tar', importCommand: 'docker import rootfs.tar skiffos' } };
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(archive));
    expect(readManifest(dir)).toEqual(archive);
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(sampleManifest({})));
    expect(readManifest(dir).kernel?.release).toBeTruthy();
  });
});
