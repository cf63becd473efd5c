import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bootV86, type Booted, buildImage, buildTimeout } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { tempDir } from '../support/tree.ts';
import { BOOT_MARKER } from '../../images/boot-marker.ts';
import { readManifest } from '../../images/manifest.ts';

// A real kernel build, real Debian packages, real v86: minutes on a fresh machine, seconds when cached.
const DISK_BYTES = 64 * 1024 * 1024;

let imageDir = '';
const running: Booted[] = [];

async function boot(disk: ArrayBuffer) {
  const b = await bootV86(imageDir, disk);
  running.push(b);
  return b;
}

const skiffLines = (b: Booted) => b.console.output.split('\n').filter((l) => l.startsWith('skiff:') || l.includes(BOOT_MARKER)).join('\n');

async function sh(b: Booted, command: string) {
  const r = await b.console.run(command);
  expect(r.status, `${command}\n${r.output}`).toBe(0);
  return r.output.trim();
}

beforeAll(async () => {
  imageDir = await buildImage(IMAGES.i386.v86, 'test-v86');
}, buildTimeout(1));

afterEach(async () => {
  for (const b of running.splice(0)) await b.machine.powerOff();
}, 60_000);

describe('browser/v86 image in v86 under Node', () => {
  it('has the files v86 needs and a manifest that pins every input', () => {
    const manifest = readManifest(imageDir);
    for (const f of ['bzImage', 'initramfs.cpio.zst', 'seabios.bin', 'vgabios.bin']) expect(manifest.outputs[f]?.size).toBeGreaterThan(0);
    expect(manifest.chain).toEqual(['browser/v86']);
    expect(manifest.arch).toBe('i386');
    expect(manifest.kernel?.release).toMatch(/^6\.1\./);
    expect(manifest.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['busybox-static', 'dropbear-bin', 'e2fsprogs', 'libc6']));
    expect(manifest.layers.map((l) => l.id)).toEqual(['skiff/base', 'browser/v86', 'skiff/post']);
    expect(JSON.stringify(manifest)).not.toContain(path.resolve('.'));
  }, 10_000);

  it('formats a blank persist disk as ext4 labelled persist, and keeps a synced file across a hard power cut', async () => {
    const disk = new ArrayBuffer(DISK_BYTES);
    const first = await boot(disk);
    expect(first.ready.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(first.console.output).toContain('persist: /dev/sda is blank, creating an ext4 file system labelled persist');
    expect(await sh(first, 'grep " /mnt/persist " /proc/mounts')).toMatch(/^\/dev\/sda \/mnt\/persist ext4 /);
    expect(await sh(first, '/sbin/e2label /dev/sda')).toBe('persist');
    expect((await sh(first, 'ls -1 /mnt/persist/skiff')).split(/\s+/)).toEqual(['connections', 'core', 'etc', 'hostname', 'journal', 'keys', 'machine-id', 'ssh']);
    await sh(first, 'echo "kept across power loss" > /mnt/persist/note.txt && sync');
    await first.machine.powerOff();

    const second = await boot(disk);
    expect(second.console.output).not.toContain('is blank');
    expect(await sh(second, 'cat /mnt/persist/note.txt')).toBe('kept across power loss');
    // The machine-id is kept on persist, so it is the same on every boot.
    expect(await sh(second, 'cat /etc/machine-id')).toBe(await sh(second, 'cat /mnt/persist/skiff/machine-id'));
  }, 240_000);

  it('takes the hostname and the SSH keys from persist after a reboot', async () => {
    const disk = new ArrayBuffer(DISK_BYTES);
    const first = await boot(disk);
    expect(await sh(first, 'hostname')).toBe('skiffos');
    await sh(first, 'echo skiff-test-host > /mnt/persist/skiff/hostname');
    await sh(first, 'echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheSkiffTestOnly0000000000000 tester@laptop" > /mnt/persist/skiff/keys/tester.pub');
    const hostKey = await sh(first, 'md5sum < /mnt/persist/skiff/ssh/dropbear_ed25519_host_key');
    await sh(first, 'sync');
    await first.machine.powerOff();

    const second = await boot(disk);
    expect(await sh(second, 'hostname')).toBe('skiff-test-host');
    expect(await sh(second, 'cat /root/.ssh/authorized_keys')).toContain('tester@laptop');
    // The SSH host key survives the reboot instead of being generated anew.
    expect(await sh(second, 'md5sum < /mnt/persist/skiff/ssh/dropbear_ed25519_host_key')).toBe(hostKey);
    expect(await sh(second, 'pidof dropbear')).toMatch(/^\d+$/);
  }, 240_000);

  it('repairs a damaged persist file system on boot and says so on the console', async () => {
    const disk = new ArrayBuffer(DISK_BYTES);
    const first = await boot(disk);
    await sh(first, 'echo doomed > /mnt/persist/victim && echo safe > /mnt/persist/other && sync');
    const inode = await sh(first, 'ls -i /mnt/persist/victim | cut -d" " -f1');
    await sh(first, 'killall syslogd; sleep 1; umount /mnt/persist');
    await first.machine.powerOff();

    // Damage it as a failing disk would: a file's inode cleared behind its directory's back, and the
    // file system flagged with errors, as the kernel flags it when it meets such damage.
    const dir = tempDir();
    const img = path.join(dir, 'persist.img');
    fs.writeFileSync(img, Buffer.from(disk));
    fs.writeFileSync(path.join(dir, 'damage'), `clri <${inode}>\nssv state 2\n`);
    const dbg = spawnSync('debugfs', ['-w', '-f', path.join(dir, 'damage'), img], { encoding: 'utf8' });
    expect(dbg.status, dbg.stderr).toBe(0);
    const damaged = fs.readFileSync(img);
    new Uint8Array(disk).set(damaged);

    const second = await boot(disk);
    expect(second.console.output, skiffLines(second)).toMatch(/persist: file system errors on \/dev\/sda were found and repaired/);
    expect(await sh(second, 'cat /mnt/persist/other')).toBe('safe');
    expect(await sh(second, 'grep " /mnt/persist " /proc/mounts')).toContain('ext4');
  }, 240_000);
});
