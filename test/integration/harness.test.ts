import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage, buildTimeout, skiffAsync } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { tempDir } from '../support/tree.ts';
import { BOOT_MARKER } from '../../images/boot-marker.ts';

describe('skiff test', () => {
  beforeAll(async () => {
    await buildImage(IMAGES.i386.v86, 'test-harness-v86');
    // With the suite's x86_64 test kernel: see test/layers/README.md.
    await buildImage(IMAGES.amd64.qemu, 'test-harness-qemu');
  }, buildTimeout(2));

  it.each([
    ['v86', 'test-harness-v86', ['boot', 'persist', 'hostname', 'power-loss'], ['ssh-keys']],
    ['qemu', 'test-harness-qemu', ['boot', 'persist', 'hostname', 'power-loss', 'ssh-keys'], []],
  ])('runs every scenario on %s and writes JUnit and Markdown reports', async (target, workspace, passed, skipped) => {
    const report = tempDir();
    const r = await skiffAsync(['test', '--target', target, '--report', report], { SKIFF_WORKSPACE: workspace });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`${passed.length} passed, 0 failed${skipped.length ? `, ${skipped.length} skipped` : ''}`);
    const xml = fs.readFileSync(path.join(report, 'junit.xml'), 'utf8');
    for (const s of passed) expect(xml).toMatch(new RegExp(`<testcase classname="skiff\\.${target}" name="${s}" time="[\\d.]+"><system-out>`));
    expect(xml).toContain(`failures="0"`);
    const md = fs.readFileSync(path.join(report, 'report.md'), 'utf8');
    expect(md).toContain(`| ${target} | power-loss | passed |`);
    expect(md).toContain(BOOT_MARKER);
  }, 10 * 60_000);

  it('refuses an image built for another target, saying which one to build', async () => {
    const r = await skiffAsync(['test', '--target', 'qemu'], { SKIFF_WORKSPACE: 'test-harness-v86' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('holds browser/v86 (boots with v86), not an image for --target qemu');
  }, 60_000);
});
