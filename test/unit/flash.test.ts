// Board format/install (buildroot/debian/flash.ts) with the real sfdisk, mtools and e2fsprogs on real image files.
// The refusals run against a fake /sys and /proc laid out in a temp dir; block devices there are
// mknod nodes with an experimental major (240) that no driver serves, so even a bug could not write.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectedCard } from '../../buildroot/debian/card-layout.ts';
import { e2fsImage } from '../../buildroot/debian/card-write.ts';
import { partitionNode } from '../../buildroot/debian/disk-safety.ts';
import { type FlashOptions, format, install } from '../../buildroot/debian/flash.ts';
import { sampleManifest } from '../support/manifest.ts';
import { ctxFor, PROJECT, tempDir, writeTree } from '../support/tree.ts';
import { outDir } from '../../images/paths.ts';
import { asyncRefusal } from '../support/refusal.ts';

const MiB = 1024 * 1024;
/** The cards of the real layers, as `skiff cmd pi/common/format` with SKIFF_CONFIG=pi/4 reads them. */
const PI = selectedCard(ctxFor(PROJECT, { SKIFF_CONFIG: 'pi/4' }), 'pi/common');
const PINE64 = selectedCard(ctxFor(PROJECT, { SKIFF_CONFIG: 'pine64/rock64' }), 'pine64/common');
const TOOLS = ['/usr/sbin/sfdisk', '/usr/bin/mformat', '/usr/bin/mcopy', '/usr/bin/mdir', '/usr/bin/mtype', '/usr/sbin/mke2fs', '/usr/sbin/debugfs', '/usr/sbin/e2fsck'];
const missingTools = TOOLS.filter((t) => !fs.existsSync(t));
if (missingTools.length > 0) throw new Error(`flash tests need ${missingTools.join(', ')}: apt-get install fdisk mtools e2fsprogs (npm test's pretest installs them)`);

let root: string;
let n = 0;

beforeAll(() => {
  root = tempDir('skiff-flash-');
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const canMknod = (() => {
  const dir = tempDir('skiff-mknod-');
  const ok = spawnSync('mknod', [path.join(dir, 'probe'), 'b', '240', '250']).status === 0;
  fs.rmSync(dir, { recursive: true, force: true });
  return ok;
})();

/** A scratch world: built boot files, GPU firmware, an empty /proc and /sys, and a log. */
function world(opts: { boot?: Record<string, string>; firmware?: boolean } = {}) {
  const dir = path.join(root, `w${n++}`);
  const images = path.join(dir, 'images');
  writeTree(path.join(images, 'boot'), opts.boot ?? { Image: 'kernel v1\n', 'config.txt': 'arm_64bit=1\n', 'bcm2711-rpi-4-b.dtb': 'dtb\n', 'overlays/uart.dtbo': 'overlay v1\n' });
  const firmware = path.join(dir, 'firmware');
  // Stand-ins named like the GPU firmware: the test checks they land on the boot partition, nothing boots them.
  if (opts.firmware !== false) writeTree(firmware, { 'start4.elf': 'gpu firmware\n', 'fixup4.dat': 'fixup\n' });
  writeTree(dir, { 'proc/mounts': 'proc /proc proc rw 0 0\n', 'proc/swaps': 'Filename\tType\tSize\tUsed\tPriority\n' });
  fs.mkdirSync(path.join(dir, 'sys', 'block'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'sys', 'dev', 'block'), { recursive: true });
  const log: string[] = [];
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, SKIFF_CONFIG: 'pi/4', SKIFF_IMAGES_DIR: images, ...(opts.firmware !== false ? { SKIFF_RPI_FIRMWARE_DIR: firmware } : {}) };
  const options = (extra: NodeJS.ProcessEnv = {}, more: Partial<FlashOptions> = {}): FlashOptions => ({
    env: { ...env, ...extra },
    procMounts: path.join(dir, 'proc/mounts'),
    procSwaps: path.join(dir, 'proc/swaps'),
    sysDir: path.join(dir, 'sys'),
    interactive: false,
    log: (l) => log.push(l),
    ...more,
  });
  const image = (mib: number, name = 'card.img') => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, '');
    fs.truncateSync(p, mib * MiB);
    return p;
  };
  const mount = (line: string) => fs.appendFileSync(path.join(dir, 'proc/mounts'), `${line}\n`);
  return { dir, images, firmware, env, options, image, mount, log };
}

type World = ReturnType<typeof world>;

/** A fake disk in the world's /sys (major 240) with its /dev nodes; partitions numbered from 1. */
function fakeDisk(w: World, name: string, o: { minor?: number; removable?: boolean; parts?: number; model?: string; sdType?: boolean } = {}) {
  const minor = o.minor ?? 0;
  const sys = path.join(w.dir, 'sys');
  const diskDir = path.join(sys, 'devices', 'platform', 'usb', 'block', name);
  const partName = (i: number) => path.basename(partitionNode(`/dev/${name}`, i));
  const files: Record<string, string> = {
    [`${diskDir}/dev`]: `240:${minor}\n`,
    [`${diskDir}/removable`]: o.removable === false ? '0\n' : '1\n',
    [`${diskDir}/size`]: `${(64 * MiB) / 512}\n`,
    [`${diskDir}/device/vendor`]: 'Generic \n',
    [`${diskDir}/device/model`]: `${o.model ?? 'STORAGE DEVICE'}\n`,
  };
  if (o.sdType) files[`${diskDir}/device/type`] = 'SD\n';
  for (let i = 1; i <= (o.parts ?? 2); i++) {
    files[`${diskDir}/${partName(i)}/dev`] = `240:${minor + i}\n`;
    files[`${diskDir}/${partName(i)}/partition`] = `${i}\n`;
  }
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, c);
  }
  fs.symlinkSync(path.relative(path.join(sys, 'block'), diskDir), path.join(sys, 'block', name));
  fs.symlinkSync(path.relative(path.join(sys, 'dev', 'block'), diskDir), path.join(sys, 'dev', 'block', `240:${minor}`));
  const dev = path.join(w.dir, 'dev');
  fs.mkdirSync(dev, { recursive: true });
  const node = (file: string, m: number) => expect(spawnSync('mknod', [path.join(dev, file), 'b', '240', String(m)]).status).toBe(0);
  node(name, minor);
  for (let i = 1; i <= (o.parts ?? 2); i++) {
    fs.symlinkSync(path.relative(path.join(sys, 'dev', 'block'), path.join(diskDir, partName(i))), path.join(sys, 'dev', 'block', `240:${minor + i}`));
    node(partName(i), minor + i);
  }
  return { node: path.join(dev, name), part: (i: number) => path.join(dev, partName(i)) };
}

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const region = (file: string, offset: number, size: number) => {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size);
    fs.readSync(fd, buf, 0, size, offset);
    return crypto.createHash('sha256').update(buf).digest('hex');
  } finally {
    fs.closeSync(fd);
  }
};
const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
};
const MT = { MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };
const fatFile = (img: string, offset: number, file: string) => sh('mtype', ['-i', `${img}@@${offset}`, `::/${file}`], MT);
const table = (img: string) =>
  (JSON.parse(sh('sfdisk', ['--json', img]).stdout) as { partitiontable: { label: string; partitions: { start: number; size: number; type: string; bootable?: boolean }[] } })
    .partitiontable;

describe('board format/install: refusals (nothing written)', () => {
  it('refuses without the device variable, naming it with an example', async () => {
    const w = world();
    const err = await asyncRefusal(format(PI, w.options()));
    expect(err.message).toContain('PI_SD is not set');
    expect(err.fix).toContain('PI_SD=/dev/sdX skiff cmd pi/common/format');
    expect((await asyncRefusal(install(PI, w.options()))).fix).toContain('skiff cmd pi/common/install');
  });

  it('refuses a device that does not exist, and a folder', async () => {
    const w = world();
    expect((await asyncRefusal(format(PI, w.options({ PI_SD: path.join(w.dir, 'nope.img') })))).message).toContain('does not exist');
    expect((await asyncRefusal(format(PI, w.options({ PI_SD: w.dir })))).message).toContain('neither a block device nor an image file');
  });

  it('refuses an image file that is mounted', async () => {
    const w = world();
    const img = w.image(64);
    const before = sha(img);
    w.mount(`${img} /mnt/card\\040one ext4 rw 0 0`);
    const err = await asyncRefusal(format(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes' })));
    expect(err.message).toContain('is mounted');
    expect(err.message).toContain('/mnt/card one');
    expect(err.fix).toContain('umount');
    expect(sha(img)).toBe(before);
  });

  it.skipIf(!canMknod)('refuses an image file whose loop device is mounted', async () => {
    const w = world();
    const img = w.image(64);
    writeTree(w.dir, { 'sys/block/loop9/dev': '240:90\n', 'sys/block/loop9/loop/backing_file': `${img}\n` });
    fs.symlinkSync('../../block/loop9', path.join(w.dir, 'sys/dev/block/240:90')); // outside-on-purpose
    fs.mkdirSync(path.join(w.dir, 'dev'));
    expect(spawnSync('mknod', [path.join(w.dir, 'dev/loop9'), 'b', '240', '90']).status).toBe(0);
    w.mount(`${path.join(w.dir, 'dev/loop9')} /mnt/img ext4 rw 0 0`);
    const err = await asyncRefusal(install(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes' })));
    expect(err.message).toMatch(/is mounted: .*loop9.* on \/mnt\/img/);
    expect(err.fix).toContain('losetup -d');
  });

  it.skipIf(!canMknod)('refuses a card whose partition is mounted, both named through /dev/disk/by-id symlinks', async () => {
    const w = world();
    const d = fakeDisk(w, 'sdz');
    const byId = path.join(w.dir, 'dev/disk/by-id');
    fs.mkdirSync(byId, { recursive: true });
    fs.symlinkSync('../../sdz', path.join(byId, 'usb-Generic_Card-0:0')); // outside-on-purpose
    fs.symlinkSync('../../sdz2', path.join(byId, 'usb-Generic_Card-0:0-part2')); // outside-on-purpose
    w.mount(`${path.join(byId, 'usb-Generic_Card-0:0-part2')} /media/persist ext4 rw 0 0`);
    const err = await asyncRefusal(format(PI, w.options({ PI_SD: path.join(byId, 'usb-Generic_Card-0:0'), SKIFF_YES: 'yes' })));
    expect(err.message).toContain('is mounted');
    expect(err.message).toContain('(sdz2) on /media/persist');
    expect(err.fix).toBe('unmount it first: umount "/media/persist"');
    // The same card unmounted gets past every check, up to the confirmation nobody can give here.
    fs.writeFileSync(path.join(w.dir, 'proc/mounts'), '');
    const next = await asyncRefusal(format(PI, w.options({ PI_SD: d.node, SKIFF_BOOT_SIZE_MIB: '32' })));
    expect(next.message).toContain('nobody at a terminal to confirm');
  });

  it.skipIf(!canMknod)('refuses a card used as swap or held by the device mapper', async () => {
    const w = world();
    const d = fakeDisk(w, 'sdz');
    fs.appendFileSync(path.join(w.dir, 'proc/swaps'), `${d.part(2)}\tpartition\t1024\t0\t-2\n`);
    expect((await asyncRefusal(format(PI, w.options({ PI_SD: d.node, SKIFF_YES: 'yes' })))).fix).toContain(`swapoff ${d.part(2)}`);
    fs.writeFileSync(path.join(w.dir, 'proc/swaps'), 'Filename\tType\tSize\tUsed\tPriority\n');
    writeTree(path.join(w.dir, 'sys/block/sdz/sdz1/holders'), { 'dm-0': '' });
    expect((await asyncRefusal(format(PI, w.options({ PI_SD: d.node, SKIFF_YES: 'yes' })))).message).toContain('sdz1 is in use by dm-0');
  });

  it.skipIf(!canMknod)("refuses the disk holding the host's root file system, even with SKIFF_FORCE", async () => {
    const w = world();
    const d = fakeDisk(w, 'sdz');
    w.mount(`${d.part(2)} / ext4 rw 0 0`);
    for (const force of [{}, { SKIFF_FORCE: 'yes' }]) {
      const err = await asyncRefusal(format(PI, w.options({ PI_SD: d.node, SKIFF_YES: 'yes', ...force })));
      expect(err.message).toContain("is the disk holding this machine's root file system");
    }
  });

  it.skipIf(!canMknod)('refuses a disk that is not removable unless SKIFF_FORCE=yes; an SD card in a built-in reader passes', async () => {
    const w = world();
    const d = fakeDisk(w, 'sdz', { removable: false, model: 'Samsung SSD 870' });
    const err = await asyncRefusal(format(PI, w.options({ PI_SD: d.node, SKIFF_YES: 'yes' })));
    expect(err.message).toContain('is not a removable disk');
    expect(err.message).toContain('Generic Samsung SSD 870');
    expect(err.fix).toContain('SKIFF_FORCE=yes');
    // Forced, it goes on to the next check (here: nobody to confirm), so force only lifts this one.
    expect((await asyncRefusal(format(PI, w.options({ PI_SD: d.node, SKIFF_FORCE: 'yes', SKIFF_BOOT_SIZE_MIB: '32' })))).message).toContain('nobody at a terminal');
    const mmc = fakeDisk(w, 'mmcblk0', { minor: 16, removable: false, sdType: true });
    expect(fs.existsSync(mmc.part(1))).toBe(true);
    expect(mmc.part(1).endsWith('mmcblk0p1')).toBe(true);
    expect((await asyncRefusal(format(PI, w.options({ PI_SD: mmc.node, SKIFF_BOOT_SIZE_MIB: '32' })))).message).toContain('nobody at a terminal');
  });

  it.skipIf(!canMknod)('refuses a partition instead of the whole disk', async () => {
    const w = world();
    const d = fakeDisk(w, 'sdz');
    const err = await asyncRefusal(format(PI, w.options({ PI_SD: d.part(1), SKIFF_YES: 'yes' })));
    expect(err.message).toContain('is a partition, not a whole disk');
    expect(err.fix).toBe(`name the disk: PI_SD=${d.node}`);
  });

  it('without a terminal and without SKIFF_YES it shows the plan and refuses; a "no" at the prompt refuses too', async () => {
    const w = world();
    const img = w.image(64);
    const before = sha(img);
    const err = await asyncRefusal(format(PI, w.options({ PI_SD: img, SKIFF_BOOT_SIZE_MIB: '32' })));
    expect(err.message).toContain('nobody at a terminal to confirm');
    expect(err.fix).toContain('SKIFF_YES=yes');
    const summary = w.log.join('\n');
    expect(summary).toContain(`Format ${img}: 64 MiB, image file`);
    expect(summary).toMatch(/1 {2}boot +FAT16 "BOOT" +32 MiB at 1 MiB/);
    expect(summary).toMatch(/2 {2}persist +ext4 "persist" +31 MiB at 33 MiB/);
    expect(summary).toContain('start4.elf');
    expect(summary).toContain('overlays/uart.dtbo');
    let asked = '';
    const no = await asyncRefusal(format(PI, w.options({ PI_SD: img, SKIFF_BOOT_SIZE_MIB: '32' }, { interactive: true, confirm: async (q) => ((asked = q), false) })));
    expect(asked).toBe(`Erase and format ${img}? [y/N] `);
    expect(no.message).toContain('not confirmed');
    expect(sha(img)).toBe(before);
  });

  it('the command entry refuses when stdin is not a terminal, exit 1, nothing written', () => {
    const w = world();
    const img = w.image(64);
    const before = sha(img);
    const r = spawnSync(process.execPath, [path.join(PROJECT, 'buildroot/debian/flash-main.js'), 'format', 'pi/common'], {
      env: { ...w.env, PI_SD: img, SKIFF_BOOT_SIZE_MIB: '32' },
      input: 'y\n',
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('skiff: error: not writing');
    expect(r.stderr).toContain('SKIFF_YES=yes');
    expect(sha(img)).toBe(before);
  });

  it.skipIf(!fs.existsSync('/usr/bin/script'))('asks y/N on a real terminal: "n" writes nothing, "y" formats', async () => {
    const w = world();
    const img = w.image(64);
    const blank = sha(img);
    // script(1) gives the entry a pseudo-terminal; the answer is typed once the prompt shows.
    const answer = (reply: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn('script', ['-qec', `node ${JSON.stringify(path.join(PROJECT, 'buildroot/debian/flash-main.js'))} format pi/common`, '/dev/null'], {
          env: { ...process.env, ...w.env, PI_SD: img, SKIFF_BOOT_SIZE_MIB: '32', SKIFF_YES: '', SKIFF_NO_INTERACTIVE: '' },
        });
        let out = '';
        let typed = false;
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (!typed && out.includes('[y/N]')) {
            typed = true;
            child.stdin.write(`${reply}\n`);
          }
        });
        child.on('close', (code) => resolve({ code, out }));
      });
    const no = await answer('n');
    expect(no.out).toContain(`Erase and format ${img}? [y/N]`);
    expect(no.out).toContain('not confirmed');
    expect(no.code).toBe(1);
    expect(sha(img)).toBe(blank);
    const ok = await answer('y');
    expect(ok.out).toContain('is formatted and holds the boot files');
    expect(ok.code).toBe(0);
    expect(table(img).partitions).toHaveLength(2);
  });

  it('refuses when the image has no boot files, or the Pi GPU firmware is missing', async () => {
    const w = world({ firmware: false });
    const img = w.image(64);
    fs.rmSync(path.join(w.images, 'boot'), { recursive: true });
    const err = await asyncRefusal(format(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes' })));
    expect(err.message).toBe(`no boot files in ${path.join(w.images, 'boot')}`);
    expect(err.fix).toContain('build them: SKIFF_CONFIG=pi/4 skiff configure compile');
    writeTree(path.join(w.images, 'boot'), { Image: 'k\n' });
    const fw = await asyncRefusal(format(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes' })));
    expect(fw.message).toContain('SKIFF_RPI_FIRMWARE_DIR is not set');
    expect((await asyncRefusal(format(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes', SKIFF_RPI_FIRMWARE_DIR: w.images })))).message).toContain('holds no start*.elf');
    expect(sha(img)).toBe(sha(w.image(64, 'blank.img')));
  });

  it('refuses a card too small for the layout, and names the missing tool with its Debian package', async () => {
    const w = world();
    const img = w.image(64);
    const small = await asyncRefusal(format(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes' })));
    expect(small.message).toContain('too small for a 1.0 GiB boot partition');
    expect(small.fix).toContain('SKIFF_BOOT_SIZE_MIB=');
    const empty = path.join(w.dir, 'emptybin');
    fs.mkdirSync(empty);
    const tools = await asyncRefusal(format(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes', PATH: empty })));
    expect(tools.message).toBe('missing host tools: mformat (mtools), mcopy (mtools)');
    expect(tools.fix).toBe('install them as root: apt-get install -y --no-install-recommends mtools');
  });

  it('install refuses a card that was never formatted', async () => {
    const w = world();
    const img = w.image(64);
    const err = await asyncRefusal(install(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes' })));
    expect(err.message).toContain('has no FAT boot partition 1 (no partition table)');
    expect(err.fix).toContain('skiff cmd pi/common/format');
  });
});

describe('board format/install: writing an image file', () => {
  it('formats 64 MiB: MBR, FAT boot with the boot files, ext4 persist; install changes boot and leaves persist intact', async () => {
    const w = world();
    const img = w.image(64);
    await format(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes', SKIFF_BOOT_SIZE_MIB: '32' }));
    expect(fs.statSync(img).size).toBe(64 * MiB);

    const t = table(img);
    expect(t.label).toBe('dos');
    expect(t.partitions.map(({ start, size, type, bootable }) => ({ start, size, type, bootable: Boolean(bootable) }))).toEqual([
      { start: 2048, size: 65536, type: 'e', bootable: true },
      { start: 67584, size: 63488, type: '83', bootable: false },
    ]);
    const bootAt = MiB;
    const persistAt = 33 * MiB;

    const dir = sh('mdir', ['-/', '-b', '-i', `${img}@@${bootAt}`, '::/'], MT);
    expect(dir.code).toBe(0);
    expect(dir.stdout.split('\n').filter(Boolean).sort()).toEqual(
      ['::/Image', '::/bcm2711-rpi-4-b.dtb', '::/config.txt', '::/fixup4.dat', '::/overlays/', '::/overlays/uart.dtbo', '::/start4.elf'].sort(),
    );
    expect(fatFile(img, bootAt, 'Image').stdout).toBe('kernel v1\n');
    expect(fatFile(img, bootAt, 'start4.elf').stdout).toBe('gpu firmware\n');
    expect(sh('minfo', ['-i', `${img}@@${bootAt}`, '::'], MT).stdout).toMatch(/disk label="BOOT/);

    const persist = e2fsImage(img, persistAt);
    expect(sh('e2label', [persist]).stdout.trim()).toBe('persist');
    expect(sh('dumpe2fs', ['-h', persist]).stdout).toMatch(/Filesystem features:.*has_journal.*extent/);
    expect(sh('e2fsck', ['-fn', persist]).code).toBe(0);

    // State the device would keep on persist.
    const note = path.join(w.dir, 'note');
    fs.writeFileSync(note, 'hostname=my-pi\n');
    expect(sh('debugfs', ['-w', '-R', `write ${note} skiff-note`, persist]).code).toBe(0);
    expect(sh('debugfs', ['-R', 'cat skiff-note', persist]).stdout).toBe('hostname=my-pi\n');
    const persistBytes = region(img, persistAt, 31 * MiB);

    // A rebuilt image: the kernel and an overlay change, a file appears.
    writeTree(path.join(w.images, 'boot'), { Image: 'kernel v2\n', 'overlays/uart.dtbo': 'overlay v2\n', 'cmdline.txt': 'console=ttyAMA0\n' });
    w.log.length = 0;
    await install(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes' }));
    expect(w.log.join('\n')).toContain('partition 2 (persist, 31 MiB) is not touched');
    expect(fatFile(img, bootAt, 'Image').stdout).toBe('kernel v2\n');
    expect(fatFile(img, bootAt, 'overlays/uart.dtbo').stdout).toBe('overlay v2\n');
    expect(fatFile(img, bootAt, 'cmdline.txt').stdout).toBe('console=ttyAMA0\n');
    expect(fatFile(img, bootAt, 'start4.elf').stdout).toBe('gpu firmware\n');

    expect(region(img, persistAt, 31 * MiB)).toBe(persistBytes);
    expect(sh('debugfs', ['-R', 'cat skiff-note', persist]).stdout).toBe('hostname=my-pi\n');
    expect(sh('e2fsck', ['-fn', persist]).code).toBe(0);
    expect(table(img).partitions).toEqual(t.partitions);
  });

  it('format puts the build\'s Skiff Core image on persist, as if imported, if it fits', async () => {
    const w = world();
    const squashfs = 'skiffos_skiff-core-debian_bookworm.squashfs';
    writeTree(path.join(w.images, 'core'), { [squashfs]: 'a squashfs stand-in\n', [`${squashfs}.sha256`]: 'c0ffee\n' });
    const img = w.image(64);
    await format(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes', SKIFF_BOOT_SIZE_MIB: '32' }));
    expect(w.log.join('\n')).toContain(`persist: Skiff Core's image ${squashfs}, ${squashfs}.sha256`);
    const persist = e2fsImage(img, 33 * MiB);
    expect(sh('debugfs', ['-R', `cat /skiff/core/images/${squashfs}`, persist]).stdout).toBe('a squashfs stand-in\n');
    expect(sh('debugfs', ['-R', `cat /skiff/core/images/${squashfs}.sha256`, persist]).stdout).toBe('c0ffee\n');
    expect(sh('e2fsck', ['-fn', persist]).code).toBe(0);

    // Too big for persist: refused before anything is written.
    const big = w.image(64, 'big.img');
    fs.truncateSync(path.join(w.images, 'core', squashfs), 40 * MiB);
    await expect(format(PI, w.options({ PI_SD: big, SKIFF_YES: 'yes', SKIFF_BOOT_SIZE_MIB: '32' }))).rejects.toThrow(/does not fit the 31 MiB persist partition/);
    expect(fs.readFileSync(big).subarray(0, 512).every((b) => b === 0)).toBe(true);
  });

  it('the default Pi layout: a 1 GiB FAT32 boot partition (type c) and persist for the rest', async () => {
    const w = world();
    const img = w.image(1100);
    await format(PI, w.options({ PI_SD: img, SKIFF_YES: 'yes' }));
    expect(table(img).partitions.map(({ start, size, type }) => ({ start, size, type }))).toEqual([
      { start: 2048, size: 2 * 1024 * 1024, type: 'c' },
      { start: 2048 + 2 * 1024 * 1024, size: (75 * MiB) / 512, type: '83' },
    ]);
    expect(sh('minfo', ['-i', `${img}@@${MiB}`, '::'], MT).stdout).toMatch(/disk type="FAT32/);
    expect(fatFile(img, MiB, 'config.txt').stdout).toBe('arm_64bit=1\n');
    expect(sh('e2label', [e2fsImage(img, 1025 * MiB)]).stdout.trim()).toBe('persist');
  });

  it('runs as the layer command: skiff cmd pi/common/format with a relative PI_SD, from a moved SKIFF_ROOT_DIR', () => {
    const w = world();
    const rootDir = path.join(w.dir, 'root');
    fs.mkdirSync(rootDir);
    fs.symlinkSync(path.join(PROJECT, 'configs'), path.join(rootDir, 'configs'));
    fs.cpSync(path.join(w.images, 'boot'), path.join(outDir({ rootDir, workspace: 'default' }), 'boot'), { recursive: true });
    w.image(64);
    const env: NodeJS.ProcessEnv = { ...process.env, SKIFF_ROOT_DIR: rootDir, SKIFF_CONFIG: 'pi/4', SKIFF_WORKSPACE: '', SKIFF_IMAGES_DIR: '', SKIFF_RPI_FIRMWARE_DIR: w.firmware, SKIFF_BOOT_SIZE_MIB: '32' };
    delete env.PI_SD;
    const skiff = (extra: NodeJS.ProcessEnv) => spawnSync(process.execPath, [path.join(PROJECT, 'bin/skiff.js'), 'cmd', 'pi/common/format'], { cwd: w.dir, env: { ...env, ...extra, PWD: w.dir }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const unset = skiff({});
    expect(unset.status).not.toBe(0);
    expect(unset.stderr).toContain('PI_SD is not set');
    const r = skiff({ PI_SD: 'card.img', SKIFF_YES: 'yes' });
    expect(r.stderr).toContain('done: card.img is formatted');
    expect(r.status).toBe(0);
    expect(fatFile(path.join(w.dir, 'card.img'), MiB, 'Image').stdout).toBe('kernel v1\n');
  });
});

describe('partition nodes', () => {
  it('follow the kernel: a digit-ending disk gets a p', () => {
    expect(partitionNode('/dev/sdb', 1)).toBe('/dev/sdb1');
    expect(partitionNode('/dev/mmcblk0', 1)).toBe('/dev/mmcblk0p1');
    expect(partitionNode('/dev/nvme0n1', 2)).toBe('/dev/nvme0n1p2');
    expect(partitionNode('/dev/loop3', 2)).toBe('/dev/loop3p2');
  });
});

describe('on this machine (default /proc and /sys)', () => {
  const rootDev = (() => {
    const dev = fs.statSync('/', { bigint: true }).dev;
    const link = `/sys/dev/block/${((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)}:${(dev & 0xffn) | ((dev >> 12n) & ~0xffn)}`;
    if (!fs.existsSync(link)) return undefined;
    const dir = fs.realpathSync(link);
    const disk = fs.existsSync(path.join(dir, 'partition')) ? path.basename(path.dirname(dir)) : path.basename(dir);
    return fs.existsSync(`/dev/${disk}`) ? `/dev/${disk}` : undefined;
  })();

  it.skipIf(!rootDev)("refuses the real root disk (skipped when / is not on a block device, e.g. overlay)", async () => {
    // No SKIFF_YES: should this check ever break, the run still stops at the missing confirmation.
    const err = await asyncRefusal(format(PI, { env: { PATH: process.env.PATH, PI_SD: rootDev, SKIFF_FORCE: 'yes' }, interactive: false, log: () => {} }));
    expect(err.message).toContain("is the disk holding this machine's root file system");
  });
});

describe('board format/install: a U-Boot family, with the bootloader in front of partition 1', () => {
  /** A build whose manifest records two bootloader blobs and the first partition at 16 MiB (the Rockchip layout). */
  function rockchipWorld() {
    const w = world({ boot: { Image: 'kernel v1\n', 'extlinux/extlinux.conf': 'label skiff\n', 'dtbs/rockchip/rk3328-rock64.dtb': 'dtb\n' }, firmware: false });
    const blobs = { 'idbloader.img': crypto.randomBytes(100 * 1024), 'u-boot.itb': crypto.randomBytes(700 * 1024) };
    const bootloader = { pkg: 'u-boot-rockchip', version: '2023.01', target: 'rock64-rk3328', bootStart: 16 * MiB, blobs: [{ file: 'idbloader.img', offset: 32 * 1024 }, { file: 'u-boot.itb', offset: 8 * MiB }] };
    const manifest = sampleManifest({ chain: ['pine64/rock64'], arch: 'arm64', bootMethod: 'uboot-extlinux', qemu: undefined, board: { card: 'sdcard.img', bootloader } });
    writeTree(w.images, { 'manifest.json': JSON.stringify(manifest) });
    fs.mkdirSync(path.join(w.images, 'bootloader'));
    for (const [name, data] of Object.entries(blobs)) fs.writeFileSync(path.join(w.images, 'bootloader', name), data);
    const hash = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
    return { w, blobs, hash };
  }

  it('format puts partition 1 where the bootloader layout says and writes each blob at its offset; install rewrites them, persist intact', async () => {
    const { w, blobs, hash } = rockchipWorld();
    const img = w.image(64);
    await format(PINE64, w.options({ PINE64_SD: img, SKIFF_YES: 'yes', SKIFF_BOOT_SIZE_MIB: '16' }));
    expect(w.log.join('\n')).toContain('bootloader: u-boot.itb (700.0 KiB) at 8 MiB, before partition 1');
    const t = table(img);
    expect(t.partitions.map(({ start, size, type }) => ({ start, size, type }))).toEqual([
      { start: (16 * MiB) / 512, size: (16 * MiB) / 512, type: 'e' },
      { start: (32 * MiB) / 512, size: (32 * MiB) / 512, type: '83' },
    ]);
    expect(region(img, 32 * 1024, blobs['idbloader.img'].length)).toBe(hash(blobs['idbloader.img']));
    expect(region(img, 8 * MiB, blobs['u-boot.itb'].length)).toBe(hash(blobs['u-boot.itb']));
    expect(fatFile(img, 16 * MiB, 'extlinux/extlinux.conf').stdout).toBe('label skiff\n');
    expect(sh('e2label', [e2fsImage(img, 32 * MiB)]).stdout.trim()).toBe('persist');

    const persist = e2fsImage(img, 32 * MiB);
    const note = path.join(w.dir, 'note');
    fs.writeFileSync(note, 'kept\n');
    expect(sh('debugfs', ['-w', '-R', `write ${note} kept`, persist]).code).toBe(0);
    const persistBytes = region(img, 32 * MiB, 32 * MiB);

    // A newer U-Boot in the rebuilt image replaces the old one; persist is not opened.
    const newer = crypto.randomBytes(720 * 1024);
    fs.writeFileSync(path.join(w.images, 'bootloader', 'u-boot.itb'), newer);
    await install(PINE64, w.options({ PINE64_SD: img, SKIFF_YES: 'yes' }));
    expect(region(img, 8 * MiB, newer.length)).toBe(hash(newer));
    expect(region(img, 32 * MiB, 32 * MiB)).toBe(persistBytes);
    expect(sh('debugfs', ['-R', 'cat kept', persist]).stdout).toBe('kept\n');
  });

  it('install refuses a card whose partition 1 starts where the bootloader would go', async () => {
    const { w } = rockchipWorld();
    const img = w.image(64);
    // Formatted for a board with the default 1 MiB start (no bootloader layout at that time).
    const plain = world({ boot: { Image: 'k\n' }, firmware: false });
    await format(PINE64, plain.options({ PINE64_SD: img, SKIFF_YES: 'yes', SKIFF_BOOT_SIZE_MIB: '16' }));
    const before = sha(img);
    const err = await asyncRefusal(install(PINE64, w.options({ PINE64_SD: img, SKIFF_YES: 'yes' })));
    expect(err.message).toContain('partition 1 of');
    expect(err.message).toContain('starts at 1 MiB, but this board\'s bootloader needs the card up to 8.7 MiB');
    expect(err.fix).toContain('PINE64_SD=');
    expect(err.fix).toContain('skiff cmd pine64/common/format');
    expect(sha(img)).toBe(before);
  });

  it('format refuses without PINE64_SD, naming the family\'s variable', async () => {
    const { w } = rockchipWorld();
    const err = await asyncRefusal(format(PINE64, w.options()));
    expect(err.message).toBe('PINE64_SD is not set: skiff does not guess which disk to erase');
  });
});
