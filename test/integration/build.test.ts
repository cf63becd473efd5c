import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage, buildTimeout, outDirOf, skiffAsync } from '../support/image.ts';
import { PROJECT, tempDir, writeTree } from '../support/tree.ts';
import { readManifest } from '../../images/manifest.ts';

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

beforeAll(async () => {
  // The first build pays for the kernel; every build below reuses it.
  await buildImage('browser/v86', 'test-build-a');
}, buildTimeout(1));

describe('the debian backend', () => {
  it('gives identical initramfs bytes for two clean builds of the same inputs', async () => {
    const b = await buildImage('browser/v86', 'test-build-b');
    const a = outDirOf('test-build-a');
    expect(sha(path.join(b, 'initramfs.cpio.zst'))).toBe(sha(path.join(a, 'initramfs.cpio.zst')));
    expect(sha(path.join(b, 'bzImage'))).toBe(sha(path.join(a, 'bzImage')));
    const manifest = readManifest(b);
    for (const [name, out] of Object.entries(manifest.outputs)) expect(sha(path.join(b, name))).toBe(out.sha256);
  }, buildTimeout(1));

  it('never leaves a half-written output when killed, and the next build succeeds', async () => {
    const ws = 'test-build-interrupted';
    fs.rmSync(outDirOf(ws), { recursive: true, force: true });
    await skiffAsync(['configure'], { SKIFF_CONFIG: 'browser/v86', SKIFF_WORKSPACE: ws });
    const child = spawn(process.execPath, [path.join(PROJECT, 'bin/skiff.js'), 'compile'], { env: { ...process.env, SKIFF_WORKSPACE: ws } });
    const closed = new Promise((r) => child.on('close', r));
    let log = '';
    const killed = await Promise.race([
      new Promise<boolean>((resolve) => {
        child.stderr.on('data', (d: Buffer) => {
          log += d;
          // Killed in the root filesystem step, after the kernel: the output folder is being assembled.
          if (log.includes('[4/5]')) {
            child.kill('SIGKILL');
            resolve(true);
          }
        });
      }),
      closed.then(() => false),
    ]);
    expect(killed, `compile ended before its root filesystem step:\n${log}`).toBe(true);
    await closed;
    expect(fs.existsSync(outDirOf(ws))).toBe(false);
    const again = await skiffAsync(['compile', '--json'], { SKIFF_WORKSPACE: ws });
    expect(again.code, again.stderr).toBe(0);
    const manifest = JSON.parse(again.stdout);
    expect(sha(path.join(outDirOf(ws), 'initramfs.cpio.zst'))).toBe(manifest.outputs['initramfs.cpio.zst'].sha256);
  }, buildTimeout(2));

  it('rebuilds only the root filesystem when an overlay file changes', async () => {
    const extra = tempDir();
    writeTree(extra, { 'test/motd/metadata/description': 'test layer\n', 'test/motd/root_overlay/etc/motd': 'first\n' });
    const env = { SKIFF_EXTRA_CONFIGS_PATH: extra };
    await buildImage('browser/v86,test/motd', 'test-build-overlay', env);
    const before = readManifest(outDirOf('test-build-overlay'));
    fs.writeFileSync(path.join(extra, 'test/motd/root_overlay/etc/motd'), 'second\n');
    const r = await skiffAsync(['compile', '--json'], { ...env, SKIFF_WORKSPACE: 'test-build-overlay' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('reusing kernel');
    const after = JSON.parse(r.stdout);
    expect(after.outputs.bzImage.sha256).toBe(before.outputs.bzImage?.sha256);
    expect(after.outputs['initramfs.cpio.zst'].sha256).not.toBe(before.outputs['initramfs.cpio.zst']?.sha256);
    expect(after.layers.find((l: { id: string }) => l.id === 'test/motd').files['root_overlay/etc/motd']).toBe(crypto.createHash('sha256').update('second\n').digest('hex'));
  }, buildTimeout(2));

  it('packs a reproducible squashfs of the root filesystem when a layer asks for one', async () => {
    const extra = tempDir();
    writeTree(extra, { 'test/squash/metadata/description': 'asks for a squashfs root\n', 'test/squash/debian/config': 'ROOTFS_SQUASHFS=yes\n' });
    const out = await buildImage('browser/v86,test/squash', 'test-build-squashfs', { SKIFF_EXTRA_CONFIGS_PATH: extra });
    const first = sha(path.join(out, 'rootfs.squashfs'));
    const list = spawnSync('unsquashfs', ['-l', path.join(out, 'rootfs.squashfs')], { encoding: 'utf8' });
    expect(list.stdout).toContain('squashfs-root/init');
    expect(list.stdout).toContain('squashfs-root/bin/busybox');
    await buildImage('browser/v86,test/squash', 'test-build-squashfs', { SKIFF_EXTRA_CONFIGS_PATH: extra });
    expect(sha(path.join(out, 'rootfs.squashfs'))).toBe(first);
  }, buildTimeout(2));

  it('names the layer that asks for a Debian package that does not exist, and leaves the lock alone', async () => {
    const extra = tempDir();
    writeTree(extra, { 'testbad/nopkg/metadata/description': 'asks for a missing package\n', 'testbad/nopkg/debian/packages': 'skiff-no-such-package\n' });
    const lock = fs.readFileSync(path.join(PROJECT, 'images/debian-lock.json'));
    const r = await buildFails('browser/v86,testbad/nopkg', extra);
    expect(r).toContain('Debian i386 has no package skiff-no-such-package (asked by testbad/nopkg in debian/packages)');
    expect(fs.readFileSync(path.join(PROJECT, 'images/debian-lock.json'))).toEqual(lock);
  }, buildTimeout(1));

  it('reports a kernel option the kernel does not have by name', async () => {
    const extra = tempDir();
    writeTree(extra, { 'testbad/kconf/metadata/description': 'a typo in a kernel fragment\n', 'testbad/kconf/kernel/typo': 'CONFIG_SKIFF_NO_SUCH_OPTION=y\n' });
    const r = await buildFails('browser/v86,testbad/kconf', extra);
    expect(r).toMatch(/the kernel has no such option: CONFIG_SKIFF_NO_SUCH_OPTION from testbad\/kconf \(.*kernel\/typo:1\)/);
  }, buildTimeout(1));
});

async function buildFails(config: string, extra: string): Promise<string> {
  const r = await skiffAsync(['configure', 'compile'], { SKIFF_CONFIG: config, SKIFF_WORKSPACE: 'test-build-bad', SKIFF_EXTRA_CONFIGS_PATH: extra });
  expect(r.code).toBe(1);
  return r.stderr;
}
