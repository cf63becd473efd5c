import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QemuTarget } from '../harness/targets/qemu.ts';
import { buildImage, skiffAsync } from './support/image.ts';
import { tempDir } from './support/tree.ts';

// The same userland and runtime, cross-compiled: an arm64 kernel from linux-source-6.1 with
// Debian's aarch64 gcc, arm64 Debian packages, booted in qemu-system-aarch64 (-M virt).
let imageDir = '';
let target: QemuTarget | undefined;

beforeAll(async () => {
  imageDir = await buildImage('virt/qemu_arm64', 'test-qemu-arm64');
}, 30 * 60_000);

afterAll(async () => {
  await target?.close();
});

describe('virt/qemu_arm64: a cross-compiled arm64 image', () => {
  it('builds an arm64 kernel Image and says so in its manifest', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(imageDir, 'manifest.json'), 'utf8')) as { arch: string; bootMethod: string };
    expect(manifest).toMatchObject({ arch: 'arm64', bootMethod: 'qemu' });
    // The arm64 Image header carries the magic "ARM\x64" at offset 56.
    const header = fs.readFileSync(path.join(imageDir, 'Image')).subarray(56, 60);
    expect(header.toString('latin1')).toBe('ARM\x64');
  });

  it('boots in qemu-system-aarch64 to a shell on an aarch64 kernel', async () => {
    target = new QemuTarget('qemu-arm64', imageDir);
    const info = await target.powerCycle(true);
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect((await target.console.run('uname -m')).output.trim()).toBe('aarch64');
    expect((await target.console.run('grep " /mnt/persist " /proc/mounts')).output).toMatch(/^\/dev\/vda \/mnt\/persist ext4 /);
    await target.close();
    target = undefined;
  }, 10 * 60_000);

  it('passes the boot and persist scenarios through skiff test', async () => {
    const report = tempDir();
    const r = await skiffAsync(['test', '--target', 'qemu', '--scenario', 'boot,persist', '--report', report], { SKIFF_WORKSPACE: 'test-qemu-arm64' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('2 passed, 0 failed');
    expect(fs.readFileSync(path.join(report, 'junit.xml'), 'utf8')).toContain('name="persist"');
  }, 10 * 60_000);
});
