import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QemuTarget } from '../../harness/targets/qemu.ts';
import { buildImage, buildTimeout, skiffAsync } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { tempDir } from '../support/tree.ts';
import { readManifest } from '../../images/manifest.ts';

// The same userland and runtime, cross-compiled: a kernel from linux-source-6.1 built with
// Debian's cross gcc, Debian packages of the target architecture, booted in QEMU's virt machine.
// arm64 is the user's virt/qemu_arm64 as is; armhf boots the suite's armhf test kernel, which also
// boots the Orange Pi card (test/layers/README.md): the manifest and uname name what was booted.
const MACHINES = [
  {
    layer: 'virt/qemu_arm64',
    config: IMAGES.arm64.qemu,
    arch: 'arm64',
    kernel: 'Image',
    // The arm64 Image header carries the magic "ARM\x64" at offset 56.
    isKernel: (k: Buffer) => k.subarray(56, 60).toString('latin1') === 'ARM\x64',
    machine: 'aarch64',
    qemuBinary: 'qemu-system-aarch64',
  },
  {
    layer: 'virt/qemu_armhf',
    config: IMAGES.armhf.qemu,
    arch: 'armhf',
    kernel: 'zImage',
    // A 32-bit arm zImage carries 0x016f2818 at offset 0x24.
    isKernel: (k: Buffer) => k.readUInt32LE(0x24) === 0x016f2818,
    machine: 'armv7l',
    qemuBinary: 'qemu-system-arm',
  },
];

describe.each(MACHINES)('$config: a cross-compiled $arch image', ({ layer, config, arch, kernel, isKernel, machine, qemuBinary }) => {
  const workspace = `test-${layer.replace('/', '-').replace('_', '-')}`;
  let imageDir = '';
  let target: QemuTarget | undefined;

  afterAll(async () => {
    await target?.close();
  }, 60_000);

  it(`builds the ${arch} ${kernel} and says so in its manifest`, async () => {
    imageDir = await buildImage(config, workspace);
    const manifest = readManifest(imageDir);
    expect(manifest).toMatchObject({ arch, bootMethod: 'qemu', chain: config.split(','), qemu: { binary: qemuBinary } });
    expect(isKernel(fs.readFileSync(path.join(imageDir, kernel)))).toBe(true);
  }, buildTimeout(1));

  it(`boots in QEMU to a shell on an ${machine} kernel with persist mounted`, async () => {
    target = new QemuTarget(`qemu-${arch}`, imageDir);
    const info = await target.powerCycle(true);
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect((await target.console.run('uname -m')).output.trim()).toBe(machine);
    expect((await target.console.run('grep " /mnt/persist " /proc/mounts')).output).toMatch(/^\/dev\/vda \/mnt\/persist ext4 /);
    await target.close();
    target = undefined;
  }, 10 * 60_000);

  it('passes the boot, persist and power-loss scenarios through skiff test', async () => {
    const report = tempDir();
    const r = await skiffAsync(['test', '--target', 'qemu', '--scenario', 'boot,persist,power-loss', '--report', report], { SKIFF_WORKSPACE: workspace });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('3 passed, 0 failed');
    expect(fs.readFileSync(path.join(report, 'junit.xml'), 'utf8')).toContain('name="persist"');
  }, 10 * 60_000);
});
