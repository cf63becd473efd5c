// npm run bench, Skiff Core part: how long `su - core` takes to reach the container's prompt (first
// time, with the image import, and later), how big the core image is, and what a running container
// costs in memory. QEMU (TCG) for now; the playground's figures come when the browser ships Skiff Core.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_DIR } from '../buildroot/layers/context.ts';
import { Console } from '../harness/console.ts';
import { QemuMachine } from '../harness/qemu.ts';
import { readManifest } from '../images/manifest.ts';
import { BOOT_MARKER_LINE } from '../images/boot-marker.ts';
import { outDir } from '../images/paths.ts';

const rows: [string, string][] = [];
const report = (what: string, value: string) => {
  rows.push([what, value]);
  console.error(`  ${what}: ${value}`);
};

console.error('Building virt/qemu,skiff/core ...');
const build = spawnSync(process.execPath, [path.join(PROJECT_DIR, 'bin/skiff.js'), 'configure', 'compile'], {
  env: { ...process.env, SKIFF_CONFIG: 'virt/qemu,skiff/core', SKIFF_WORKSPACE: 'bench-core' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (build.status !== 0) throw new Error('building virt/qemu,skiff/core failed');
const imageDir = outDir({ rootDir: PROJECT_DIR, workspace: 'bench-core' });
const { core } = readManifest(imageDir);
if (!core?.file) throw new Error(`${imageDir} ships no core image file`);
report('core image (squashfs, xz)', `${(fs.statSync(path.join(imageDir, core.file)).size / 1e6).toFixed(1)} MB, ${core.packages.length} Debian packages`);
report('initramfs with skiff-core and crun (zstd)', `${(fs.statSync(path.join(imageDir, 'initramfs.cpio.zst')).size / 1e6).toFixed(2)} MB`);

const disk = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-core-')), 'persist.img');
const machine = new QemuMachine({ imageDir, disk, memoryMB: 512 });
const con = new Console(machine);
try {
  await con.waitFor(BOOT_MARKER_LINE, 180_000);
  await con.run('true');
  // An interactive login, timed from the command to bash's prompt in the container.
  const login = async () => {
    con.skipAll();
    const t = performance.now();
    con.send('su - core\n');
    await con.waitFor(/core@\S+:~\$ $/m, 600_000);
    const ms = performance.now() - t;
    con.send('exit\n');
    await con.waitFor(/logout\r?\n[\s\S]*# /, 30_000);
    return ms;
  };
  report('QEMU: su - core to the container prompt, first boot (waits for the image import)', `${((await login()) / 1000).toFixed(2)} s`);
  const later: number[] = [];
  for (let i = 0; i < 5; i++) later.push(await login());
  later.sort((a, b) => a - b);
  report('QEMU: su - core to the container prompt, container running (median of 5)', `${(later[2]! / 1000).toFixed(2)} s`);
  // Memory: what the host has available with the container running, and after it is gone.
  const available = async () => {
    await con.run('sync; echo 3 > /proc/sys/vm/drop_caches');
    return Number(/MemAvailable:\s+(\d+)/.exec((await con.run('cat /proc/meminfo')).output)![1]);
  };
  const running = await available();
  await con.run('crun --root /run/skiff-core/crun delete -f core; umount /run/skiff-core/containers/core/rootfs; umount /run/skiff-core/images/*');
  const stopped = await available();
  report('QEMU: memory a running core container takes (MemAvailable difference)', `${((stopped - running) / 1024).toFixed(1)} MB`);
} finally {
  await machine.powerOff();
}

console.log('\n| Skiff Core | value |\n| --- | --- |');
for (const [what, value] of rows) console.log(`| ${what} | ${value} |`);
process.exit(0);
