// The build-to-boot contract: the manifest reader and the boot marker, against real files and the
// image's own init script.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOOT_MARKER_LINE, bootMarker } from '../../images/boot-marker.ts';
import { readManifest } from '../../images/manifest.ts';
import { outDir } from '../../images/paths.ts';
import { sampleManifest } from '../support/manifest.ts';
import { PROJECT, tempDir } from '../support/tree.ts';
import { refusal } from '../support/refusal.ts';

describe('readManifest', () => {
  it('reads what the build writes', () => {
    const dir = tempDir();
    const written = sampleManifest({ board: { card: 'sdcard.img', bootloader: { pkg: 'u-boot-sunxi', version: '2023.01', target: 'orangepi_zero', blobs: [{ file: 'u-boot-sunxi-with-spl.bin', offset: 8192 }], bootStart: 1048576 } } });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(written, null, 2));
    expect(readManifest(dir)).toEqual(written);
  });

  it('a folder without a manifest: names the folder and the command that builds it', () => {
    const dir = tempDir();
    const err = refusal(() => readManifest(dir, 'browser/v86'));
    expect(err.message).toBe(`no image in ${dir} (no manifest.json)`);
    expect(err.fix).toBe('build one: SKIFF_CONFIG=browser/v86 skiff configure compile (it writes images/out/<workspace>/; pass that folder)');
    // A workspace's own folder: the command names that workspace.
    const ws = outDir({ rootDir: PROJECT, workspace: 'no-such-workspace-here' });
    expect(refusal(() => readManifest(ws, 'virt/qemu')).fix).toBe('build one: SKIFF_CONFIG=virt/qemu SKIFF_WORKSPACE=no-such-workspace-here skiff configure compile');
    expect(refusal(() => readManifest(outDir({ rootDir: PROJECT, workspace: 'default' }) + '-not')).message).toContain('no image in');
  });

  it('a malformed manifest: not JSON, or a field of the wrong shape, named', () => {
    const dir = tempDir();
    const file = path.join(dir, 'manifest.json');
    fs.writeFileSync(file, '{"skiff": "0.1.0",');
    const notJson = refusal(() => readManifest(dir));
    expect(notJson.message).toMatch(new RegExp(`^${file} is not JSON \\(`));
    expect(notJson.fix).toContain('skiff configure compile');
    const bad = sampleManifest() as unknown as { outputs: Record<string, unknown> };
    bad.outputs.bzImage = { size: 'big', sha256: '01' };
    fs.writeFileSync(file, JSON.stringify(bad));
    const shape = refusal(() => readManifest(dir));
    expect(shape.message).toMatch(new RegExp(`^${file} is not a skiff image manifest: outputs\\.bzImage\\.size: `));
    expect(shape.fix).toContain('an older skiff may have written it');
    const { chain: _chain, ...noChain } = sampleManifest();
    fs.writeFileSync(file, JSON.stringify(noChain));
    expect(refusal(() => readManifest(dir)).message).toContain('manifest: chain: ');
  });
});

describe('the boot marker', () => {
  it('matches the line the image\'s init script prints, and gives its version and seconds', () => {
    const rcS = fs.readFileSync(path.join(PROJECT, 'configs/skiff/base/root_overlay/etc/init.d/rcS'), 'utf8');
    const echo = rcS.split('\n').find((l) => l.startsWith('echo "SKIFF_READY'));
    expect(echo, 'rcS prints the marker').toBeDefined();
    // The same line, to stdout instead of /dev/console, with this machine's /proc/uptime.
    const out = spawnSync('sh', ['-c', echo!.replace(/ > \/dev\/console$/, '')], { env: { SKIFF_VERSION: '0.1.0' }, encoding: 'utf8' }).stdout;
    const m = BOOT_MARKER_LINE.exec(`boot noise\r\n${out}`);
    expect(m).not.toBeNull();
    expect(bootMarker(m!).version).toBe('0.1.0');
    expect(bootMarker(m!).guestSeconds).toBeGreaterThan(0);
  });

  it('waits for the line end: a console chunk cut mid-number does not match', () => {
    expect(BOOT_MARKER_LINE.exec('SKIFF_READY 0.1.0 1.2')).toBeNull();
    expect(bootMarker(BOOT_MARKER_LINE.exec('SKIFF_READY 0.1.0 1.23\r\n')!)).toEqual({ version: '0.1.0', guestSeconds: 1.23 });
  });
});
