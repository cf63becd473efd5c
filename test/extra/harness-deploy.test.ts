// The hardware test loop of issue 16 in one command: `skiff test --deploy` pushes the build into the
// Orange Pi card running in qemu-system-arm -M orangepi-pc (its real U-Boot and boot slots, the
// system's OpenSSH client), checks the card runs it, then runs `upgrade`: a new build, a broken one
// that must fall back by itself, a power cut during a push. The card carries the suite's armhf test
// kernel, as in deploy.test.ts (same workspace: whichever file runs first builds it).
// Outside `npm test` (README, Tests): `npm run test:extra`.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, buildTimeout } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { PROJECT, tempDir } from '../support/tree.ts';

describe('skiff test --deploy on the Orange Pi card in QEMU', () => {
  const workspace = 'test-board-orangepi-zero';
  const report = path.join(tempDir('skiff-harness-deploy-'), 'reports');
  let dir = '';

  beforeAll(async () => {
    dir = await buildImage(IMAGES.armhf.orangepi, workspace);
  }, buildTimeout(1));
  afterAll(() => fs.rmSync(path.dirname(report), { recursive: true, force: true }));

  it('deploys the build, checks the card runs it, and passes the upgrade scenario; the JUnit file has both', async () => {
    const r = await execa(process.execPath, [path.join(PROJECT, 'bin/skiff.js'), 'test', '--deploy', '--target', 'qemu', '--image', dir, '--scenario', 'upgrade', '--report', report], {
      reject: false,
      env: { ...process.env, SKIFF_WORKSPACE: workspace },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('2 passed, 0 failed');
    // What the device reported: the manifest's record of the slot's initramfs, in the other slot.
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { outputs: Record<string, { sha256: string }> };
    const image = manifest.outputs['boot/slot-a/initramfs.cpio.zst']!.sha256.slice(0, 12);
    expect(r.stderr).toContain(`deployed: 0.1.0, slot b, image ${image} (was 0.1.0, slot a, image ${image})`);
    expect(r.stderr).toMatch(/new build: slot b → a, persist intact/);
    expect(r.stderr).toMatch(/broken build: tried in slot b, panicked, back on slot a/);
    expect(r.stderr).toMatch(/power cut during the transfer: the push cut off[^\n]*; booted slot [ab]/);
    expect(r.stderr).toMatch(/power cut during the card write: the push (cut off|finished before the cut)[^\n]*; booted slot [ab]/);
    expect(r.stderr).toMatch(/power cut after the write: booted the new slot [ab] and kept it/);

    const xml = fs.readFileSync(path.join(report, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/<testsuite name="qemu" tests="2" failures="0" skipped="0"/);
    expect(xml).toMatch(/<testcase classname="skiff\.qemu" name="deploy" time="[\d.]+"><system-out>/);
    expect(xml).toMatch(/<testcase classname="skiff\.qemu" name="upgrade" time="[\d.]+"><system-out>/);
    // The console log of the upgrade shows the broken slot's panic and the fallback the card made.
    expect(xml).toContain('Kernel panic - not syncing');
    expect(xml).toContain('skiff: slot b used its tries without confirming; booting slot a');
    expect(fs.readFileSync(path.join(report, 'report.md'), 'utf8')).toContain('| qemu | upgrade | passed |');
  }, 20 * 60_000);
});
