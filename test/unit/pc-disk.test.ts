// PC disk images (buildroot/debian/pc-disk.ts): the plan from the layers, the loader configurations,
// the partition tables, the QEMU command line that boots them, and whole images written with the
// real sfdisk, mtools, e2fsprogs and syslinux from stand-in kernel files.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { debianSettings, qemuFacts } from '../../buildroot/debian/board-facts.ts';
import { tableScript } from '../../buildroot/debian/card-write.ts';
import { planBuild, planNeeds } from '../../buildroot/debian/compile.ts';
import { type PcDiskPlan, planPcDisk, refindConf, SYSLINUX_MBR, syslinuxCfg, writePcDisk } from '../../buildroot/debian/pc-disk.ts';
import { Progress } from '../../buildroot/debian/progress.ts';
import { resolveSelection } from '../../buildroot/layers/workspace.ts';
import { qemuCommand } from '../../harness/qemu.ts';
import { OVMF } from '../../images/manifest.ts';
import { sampleManifest } from '../support/manifest.ts';
import { ctxFor, PROJECT, tempDir } from '../support/tree.ts';
import { refusal } from '../support/refusal.ts';

const MiB = 1024 * 1024;
const TOOLS = ['/usr/sbin/sfdisk', '/usr/bin/mformat', '/usr/bin/mcopy', '/usr/bin/mdir', '/usr/sbin/mke2fs', '/usr/bin/syslinux', SYSLINUX_MBR, '/usr/bin/qemu-img', OVMF.code, OVMF.vars];
const missingTools = TOOLS.filter((t) => !fs.existsSync(t));
if (missingTools.length > 0) throw new Error(`PC disk tests need ${missingTools.join(', ')}: apt-get install fdisk mtools e2fsprogs syslinux syslinux-common qemu-utils ovmf (npm test's pretest installs them)`);
const settingsOf = (config: string) => debianSettings(resolveSelection(ctxFor(PROJECT, {}), { config, from: 'SKIFF_CONFIG' }));
const planOf = (config: string) => planBuild(resolveSelection(ctxFor(PROJECT, {}), { config, from: 'SKIFF_CONFIG' }));

describe('the disk image a PC layer asks for', () => {
  it('UEFI for intel/desktop and the machines on it, BIOS for pcengines/apu2 and virt/virtualbox (with a .vdi)', () => {
    expect(planOf('intel/desktop').pcDisk).toEqual({ firmware: 'efi', sizeMiB: 256, bootSizeMiB: 64, cmdline: '', vdi: false });
    expect(planOf('apple/macbook').pcDisk?.firmware).toBe('efi');
    expect(planOf('valve/deck').pcDisk?.firmware).toBe('efi');
    expect(planOf('pcengines/apu2').pcDisk).toEqual({ firmware: 'bios', sizeMiB: 256, bootSizeMiB: 64, cmdline: '', vdi: false });
    expect(planOf('virt/virtualbox').pcDisk).toMatchObject({ firmware: 'bios', vdi: true });
    // Room for Skiff Core's image on persist, as on the boards' cards.
    expect(planOf('intel/desktop,skiff/core').pcDisk?.sizeMiB).toBe(1024);
    expect(planOf('virt/qemu').pcDisk).toBeUndefined();
  });

  it('how QEMU boots them: q35 with OVMF, pc with SeaBIOS, the disk on virtio', () => {
    expect(qemuFacts(settingsOf('intel/desktop'), 'x')).toEqual({ binary: 'qemu-system-x86_64', machine: 'q35', firmware: 'ovmf', drive: 'virtio' });
    expect(qemuFacts(settingsOf('pcengines/apu2'), 'x')).toEqual({ binary: 'qemu-system-x86_64', machine: 'pc', drive: 'virtio' });
  });

  it('the host tools: the table and FAT, syslinux for BIOS, qemu-img for a .vdi, OVMF to boot UEFI', () => {
    const pkgs = (config: string) => [...new Set(planNeeds(planOf(config)).map((n) => n.pkg))];
    expect(pkgs('intel/desktop')).toEqual(expect.arrayContaining(['fdisk', 'mtools', 'qemu-system-x86', 'ovmf']));
    expect(pkgs('intel/desktop')).not.toContain('syslinux');
    expect(pkgs('pcengines/apu2')).toEqual(expect.arrayContaining(['fdisk', 'mtools', 'syslinux', 'syslinux-common', 'qemu-system-x86']));
    expect(pkgs('pcengines/apu2')).not.toContain('ovmf');
    expect(pkgs('virt/virtualbox')).toEqual(expect.arrayContaining(['syslinux', 'qemu-utils']));
  });

  it('bad sizes, firmware and drive values are refused, naming the key', () => {
    const base = { ARCH: 'amd64', BOOT_METHOD: 'efi' };
    expect(refusal(() => planPcDisk({ ...base, CARD_IMAGE_SIZE: '64M', CARD_BOOT_SIZE: '64M' }, 'x')).message).toBe('CARD_BOOT_SIZE=64M does not fit a 64 MiB disk image with 16 MiB of persist');
    expect(refusal(() => planPcDisk({ ...base, CARD_IMAGE_SIZE: 'big' }, 'x')).message).toContain('CARD_IMAGE_SIZE: "big" is not a size');
    expect(refusal(() => planPcDisk({ ...base, DISK_IMAGE_VDI: 'sure' }, 'x')).message).toBe('DISK_IMAGE_VDI=sure is neither yes nor no');
    expect(refusal(() => planPcDisk({ ARCH: 'arm64', BOOT_METHOD: 'bios' }, 'arm/pc')).message).toBe('arm/pc boots with a PC BIOS but is arm64');
    expect(refusal(() => qemuFacts({ QEMU_BINARY: 'qemu-system-x86_64', QEMU_FIRMWARE: 'uefi' }, 'x')).fix).toContain('ovmf');
    expect(refusal(() => qemuFacts({ QEMU_BINARY: 'qemu-system-x86_64', QEMU_DRIVE: 'ide' }, 'x')).message).toBe('QEMU_DRIVE=ide is not a way skiff attaches a disk');
    expect(refusal(() => qemuFacts({ QEMU_FIRMWARE: 'ovmf' }, 'x')).message).toBe('x sets QEMU_FIRMWARE but no QEMU_BINARY');
  });
});

describe('the loaders\' configuration', () => {
  it('rEFInd starts the kernel at once with the initramfs from the same partition', () => {
    const conf = refindConf('bzImage', '', 'intel/desktop');
    expect(conf).toMatch(/^timeout -1$/m);
    expect(conf).toMatch(/^scanfor manual$/m);
    expect(conf).toContain('menuentry SkiffOS {\n    loader /bzImage\n    initrd /initramfs.cpio.zst\n}');
    expect(refindConf('bzImage', 'quiet loglevel=3', 'x')).toContain('    options "quiet loglevel=3"\n');
  });

  it('syslinux boots its one entry without a prompt, and talks on the serial port', () => {
    const cfg = syslinuxCfg('bzImage', '', 'pcengines/apu2');
    expect(cfg.split('\n').slice(1)).toEqual(['SERIAL 0 115200', 'DEFAULT skiff', 'PROMPT 0', 'TIMEOUT 0', 'LABEL skiff', '  LINUX /bzImage', '  INITRD /initramfs.cpio.zst', '']);
    expect(syslinuxCfg('bzImage', 'quiet', 'x')).toContain('  APPEND quiet\n');
  });

  it('the partition tables: GPT with an ESP and a named persist; MBR with the bootable FAT', () => {
    const layout = { bootOffset: MiB, bootSize: 64 * MiB, fat32: false, bootLabel: 'BOOT', persistOffset: 65 * MiB, persistSize: 190 * MiB };
    expect(tableScript({ ...layout, table: 'gpt' })).toBe('label: gpt\n\nstart=1MiB, size=64MiB, type=U, name=BOOT\nstart=65MiB, size=190MiB, type=L, name=persist\n');
    expect(tableScript({ ...layout, table: 'dos' })).toBe('label: dos\n\nstart=1MiB, size=64MiB, type=e, bootable\nstart=65MiB, size=190MiB, type=83\n');
  });
});

describe('the QEMU command line of a PC image', () => {
  const imageWith = (card: string) => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, card), 'disk');
    return dir;
  };

  it('UEFI: OVMF\'s code read-only, a copy of its variables next to the disk copy, the disk and NIC on virtio', () => {
    const m = sampleManifest({ chain: ['intel/desktop'], bootMethod: 'efi', qemu: { binary: 'qemu-system-x86_64', machine: 'q35', firmware: 'ovmf', drive: 'virtio' }, board: { card: 'disk.img' } });
    const dir = imageWith('disk.img');
    const disk = path.join(dir, 'run', 'disk-copy.img');
    const { args } = qemuCommand(m, { imageDir: dir, disk, sshPort: 2299 });
    expect(args.slice(0, 2)).toEqual(['-M', 'q35']);
    expect(args).toContain(`if=pflash,format=raw,unit=0,readonly=on,file=${OVMF.code}`);
    expect(args).toContain(`if=pflash,format=raw,unit=1,file=${disk}.OVMF_VARS.fd`);
    expect(fs.readFileSync(`${disk}.OVMF_VARS.fd`).equals(fs.readFileSync(OVMF.vars))).toBe(true);
    expect(args).toEqual(expect.arrayContaining([`file=${disk},if=none,id=disk,format=raw`, 'virtio-blk-pci,drive=disk,bootindex=0', 'user,id=net0,hostfwd=tcp:127.0.0.1:2299-:22']));
    expect(fs.readFileSync(disk, 'utf8')).toBe('disk');
  });

  it('BIOS: the machine\'s own SeaBIOS, no firmware files', () => {
    const m = sampleManifest({ chain: ['pcengines/apu2'], bootMethod: 'bios', qemu: { binary: 'qemu-system-x86_64', machine: 'pc', drive: 'virtio' }, board: { card: 'disk.img' } });
    const dir = imageWith('disk.img');
    const { args } = qemuCommand(m, { imageDir: dir, disk: path.join(dir, 'copy.img') });
    expect(args.join(' ')).not.toContain('pflash');
    expect(args).toContain('virtio-blk-pci,drive=disk,bootindex=0');
  });
});

// Whole images from stand-in files: what the build writes, checked with the tools a user would use.
describe('writing a PC disk image', () => {
  const MT = { ...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };
  const partitions = (img: string) =>
    (JSON.parse(spawnSync('sfdisk', ['--json', img], { encoding: 'utf8' }).stdout) as { partitiontable: { label: string; partitions: { start: number; size: number; type: string; name?: string; bootable?: boolean }[] } }).partitiontable;
  const fatFiles = (img: string, offset: number) =>
    spawnSync('mdir', ['-/', '-a', '-b', '-i', `${img}@@${offset}`, '::/'], { encoding: 'utf8', env: MT })
      .stdout.split('\n')
      .filter((l) => l && !l.endsWith('/'))
      .map((l) => l.replace(/^::\//, ''))
      .sort();
  const ext4Label = (img: string, offset: number) => spawnSync('e2label', [`${img}?offset=${offset}`], { encoding: 'utf8' }).stdout.trim();

  async function write(disk: PcDiskPlan) {
    const out = tempDir('skiff-pcdisk-');
    const kernelFile = path.join(out, 'built-bzImage');
    fs.writeFileSync(kernelFile, 'a kernel');
    const loaderFile = path.join(out, 'refind_x64.efi');
    fs.writeFileSync(loaderFile, 'MZ a loader');
    const loader = disk.firmware === 'efi' ? { pkg: 'refind', version: '0.13.2-1', file: loaderFile, bootName: 'BOOTX64.EFI' } : undefined;
    const image = path.join(out, 'image');
    fs.mkdirSync(image);
    const written = await writePcDisk({ out: image, chain: 'a/pc', boot: { kernelImage: 'bzImage', kernelFile, initramfs: Buffer.from('an initramfs') }, disk, loader }, new Progress(1, () => {}));
    return { image, written, img: path.join(image, 'disk.img') };
  }

  it('UEFI: GPT, the ESP with rEFInd as EFI/BOOT/BOOTX64.EFI, the kernel and initramfs; ext4 persist', async () => {
    const { written, img } = await write({ firmware: 'efi', sizeMiB: 128, bootSizeMiB: 32, cmdline: '', vdi: false });
    expect(written.loader).toEqual({ pkg: 'refind', version: '0.13.2-1' });
    expect(fs.statSync(img).size).toBe(128 * MiB);
    const table = partitions(img);
    expect(table.label).toBe('gpt');
    expect(table.partitions.map((p) => ({ start: p.start * 512, size: p.size * 512, type: p.type, name: p.name }))).toEqual([
      { start: MiB, size: 32 * MiB, type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', name: 'BOOT' },
      { start: 33 * MiB, size: 94 * MiB, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', name: 'persist' },
    ]);
    expect(fatFiles(img, MiB)).toEqual(['EFI/BOOT/BOOTX64.EFI', 'EFI/BOOT/refind.conf', 'bzImage', 'initramfs.cpio.zst']);
    expect(ext4Label(img, 33 * MiB)).toBe('persist');
    expect(spawnSync('e2fsck', ['-fn', `${img}?offset=${33 * MiB}`]).status).toBe(0);
  });

  it('BIOS: MBR with syslinux\'s boot code, ldlinux and syslinux.cfg on the bootable FAT partition; a .vdi when asked', async () => {
    const { written, img, image } = await write({ firmware: 'bios', sizeMiB: 128, bootSizeMiB: 32, cmdline: '', vdi: true });
    expect(written.loader.pkg).toBe('syslinux');
    expect(written.hostFiles['mbr.bin']).toContain(SYSLINUX_MBR);
    const table = partitions(img);
    expect(table.label).toBe('dos');
    expect(table.partitions).toMatchObject([{ start: 2048, type: 'e', bootable: true }, { start: 33 * 2048, type: '83' }]);
    const mbr = fs.readFileSync(SYSLINUX_MBR);
    const head = Buffer.alloc(mbr.length);
    const fd = fs.openSync(img, 'r');
    fs.readSync(fd, head, 0, mbr.length, 0);
    fs.closeSync(fd);
    expect(head.equals(mbr)).toBe(true);
    expect(fatFiles(img, MiB)).toEqual(['bzImage', 'initramfs.cpio.zst', 'ldlinux.c32', 'ldlinux.sys', 'syslinux.cfg']);
    expect(ext4Label(img, 33 * MiB)).toBe('persist');
    // VirtualBox's format, converted from the same disk.
    expect(fs.readFileSync(path.join(image, 'disk.vdi')).subarray(0, 64).toString('latin1')).toContain('<<< QEMU VM Virtual Disk Image >>>');
    expect(written.vdi).toBe(path.join(image, 'disk.vdi'));
  });
});
