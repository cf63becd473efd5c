// One cross-compiled image in QEMU's virt machine: built, booted to a shell on the expected kernel
// with persist mounted, then the boot, persist and power-loss scenarios through `skiff test`.
// test/integration/image-cross.test.ts runs it for arm64 and armhf; test/extra/ for riscv64.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QemuTarget } from '../../harness/targets/qemu.ts';
import { readManifest } from '../../images/manifest.ts';
import { buildImage, buildTimeout, skiffAsync } from './image.ts';
import { tempDir } from './tree.ts';

export interface CrossMachine {
  layer: string;
  config: string;
  arch: string;
  kernel: string;
  /** Recognises the kernel image by its header. */
  isKernel: (k: Buffer) => boolean;
  /** `uname -m` on the booted machine. */
  machine: string;
  qemuBinary: string;
}

export function describeCrossImage(machines: CrossMachine[]): void {
  describe.each(machines)('$config: a cross-compiled $arch image', ({ layer, config, arch, kernel, isKernel, machine, qemuBinary }) => {
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
}
