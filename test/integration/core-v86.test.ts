import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bootV86, type Booted, buildImage, buildTimeout } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { readManifest } from '../../images/manifest.ts';

// Skiff Core in the playground's image (browser/v86,skiff/core), in v86 under Node: the core image
// is v86's 9p share, read file by file; the container's writable layer is on the persist disk.
let imageDir = '';
const running: Booted[] = [];

beforeAll(async () => {
  // The playground's own workspace: e2e/ builds the same configuration there.
  if (process.getuid?.() === 0) imageDir = await buildImage(IMAGES.i386.v86Core, 'playground');
}, buildTimeout(1));

afterEach(async () => {
  for (const b of running.splice(0)) await b.machine.powerOff();
}, 60_000);

async function boot(disk: ArrayBuffer) {
  const b = await bootV86(imageDir, disk, 180_000);
  running.push(b);
  return b;
}

// debootstrap chroots: the core image builds as root only (CI is root; the build says so otherwise).
describe.skipIf(process.getuid?.() !== 0)('Skiff Core on browser/v86', () => {
  it('ships the core image as a 9p share whose files are named by content', () => {
    const manifest = readManifest(imageDir);
    expect(manifest.core?.share?.fsJson).toBe('core/fs.json');
    const table = JSON.parse(fs.readFileSync(path.join(imageDir, 'core/fs.json'), 'utf8'));
    expect(table.version).toBe(3);
    const [root] = table.fsroot;
    expect(root[0]).toBe('skiffos_skiff-core-debian_bookworm');
    // Every file the table names is in flat/, compressed.
    const names = new Set(fs.readdirSync(path.join(imageDir, 'core/flat')));
    const walk = (entries: unknown[][]): string[] => entries.flatMap((e) => (Array.isArray(e[6]) ? walk(e[6] as unknown[][]) : typeof e[6] === 'string' && e[6].endsWith('.zst') ? [e[6]] : []));
    const files = walk(root[6]);
    expect(files.length).toBe(manifest.core?.share?.files);
    expect(files.every((f) => names.has(f))).toBe(true);
  }, 10_000);

  it('drops core into Debian read over 9p, and keeps its home on persist across a power cut', async () => {
    const disk = new ArrayBuffer(256 * 1024 * 1024);
    const first = await boot(disk);
    const release = await first.console.run("su - core -c 'cat /etc/os-release; id -un; uname -m'", 300_000);
    expect(release.output).toContain('ID=debian');
    expect(release.output).toMatch(/^core$/m);
    expect(release.output).toMatch(/^i686$/m);
    // The image is read where it is (9p), not imported: nothing of it was copied to persist.
    expect((await first.console.run('ls /mnt/persist/skiff/core/images 2>/dev/null | wc -l')).output.trim()).toBe('0');
    expect((await first.console.run('grep -c " 9p " /proc/mounts')).output.trim()).toBe('1');
    await first.console.run("su - core -c 'echo written-in-v86 > ~/v86.txt'", 120_000);
    await first.console.run('sync');
    await first.machine.powerOff();

    const second = await boot(disk);
    expect((await second.console.run("su - core -c 'cat ~/v86.txt'", 300_000)).output).toContain('written-in-v86');
  }, 15 * 60_000);
});
