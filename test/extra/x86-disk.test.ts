// PC disk images from the debian backend: intel/desktop's (GPT, rEFInd on the EFI system partition)
// booted by OVMF in QEMU's q35, and pcengines/apu2's (MBR, syslinux) booted by SeaBIOS in QEMU's pc.
// They carry test kernels instead of x86_64_defconfig (test/layers/README.md): the BIOS PC the
// suite's x86_64 test kernel, the UEFI PC that kernel plus the EFI stub, a kernel of its own, which
// is why this file is outside `npm test` (`npm run test:extra`). The rest of each disk is the machine's.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QemuTarget } from '../../harness/targets/qemu.ts';
import { readManifest } from '../../images/manifest.ts';
import { fatList, partitionTable, sh } from '../support/card.ts';
import { buildImage, buildTimeout, skiffAsync } from '../support/image.ts';
import { IMAGES, OWN_KERNEL_IMAGES } from '../support/test-kernels.ts';

const MiB = 1024 * 1024;
const MACHINES = [
  {
    config: OWN_KERNEL_IMAGES.amd64Efi,
    workspace: 'test-x86-efi',
    bootMethod: 'efi',
    qemu: { binary: 'qemu-system-x86_64', machine: 'q35', firmware: 'ovmf', drive: 'virtio' },
    label: 'gpt',
    bootFiles: ['EFI/BOOT/BOOTX64.EFI', 'EFI/BOOT/refind.conf', 'bzImage', 'initramfs.cpio.zst'],
    loader: 'refind',
    // The kernel sees UEFI, and rEFInd's initrd= on its command line (the EFI stub loaded it).
    firmwareCheck: { command: 'test -d /sys/firmware/efi && echo uefi; cat /proc/cmdline', expect: /^uefi\n.*initrd=[\\/]initramfs\.cpio\.zst/s },
  },
  {
    config: IMAGES.amd64.bios,
    workspace: 'test-x86-bios',
    bootMethod: 'bios',
    qemu: { binary: 'qemu-system-x86_64', machine: 'pc', drive: 'virtio' },
    label: 'dos',
    bootFiles: ['bzImage', 'initramfs.cpio.zst', 'ldlinux.c32', 'ldlinux.sys', 'syslinux.cfg'],
    loader: 'syslinux',
    // No UEFI, and syslinux's BOOT_IMAGE= on the command line.
    firmwareCheck: { command: 'test -d /sys/firmware/efi || echo bios; cat /proc/cmdline', expect: /^bios\n.*BOOT_IMAGE=\/bzImage/s },
  },
] as const;

describe.each(MACHINES)('$config: a PC disk image in QEMU', (m) => {
  let dir = '';
  let target: QemuTarget | undefined;
  afterAll(async () => {
    await target?.close();
  }, 60_000);

  it(`builds disk.img: ${m.label === 'gpt' ? 'GPT, the EFI system partition with rEFInd' : 'MBR, syslinux on the bootable FAT partition'}, the kernel and initramfs, ext4 persist`, async () => {
    dir = await buildImage(m.config, m.workspace);
    const manifest = readManifest(dir);
    expect(manifest).toMatchObject({ arch: 'amd64', bootMethod: m.bootMethod, board: { card: 'disk.img', loader: { pkg: m.loader } }, qemu: m.qemu });
    const img = path.join(dir, 'disk.img');
    expect(manifest.outputs['disk.img']!.size).toBe(256 * MiB);
    const t = partitionTable(img);
    expect(t.label).toBe(m.label);
    expect(t.partitions).toHaveLength(2);
    expect(t.partitions[0]!.start).toBe(2048);
    expect(fatList(img, MiB, { hidden: true })).toEqual(m.bootFiles);
    const persistAt = t.partitions[1]!.start * 512;
    expect(sh('e2label', [`${img}?offset=${persistAt}`]).stdout.trim()).toBe('persist');
    expect(sh('e2fsck', ['-fn', `${img}?offset=${persistAt}`]).status).toBe(0);
  }, buildTimeout(1));

  it(`boots from disk.img in ${m.qemu.binary} -M ${m.qemu.machine} to SKIFF_READY, persist on vda2`, async () => {
    target = new QemuTarget(m.workspace, dir);
    const info = await target.powerCycle(true);
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect((await target.console.run(m.firmwareCheck.command)).output).toMatch(m.firmwareCheck.expect);
    expect((await target.console.run('grep " /mnt/persist " /proc/mounts')).output).toMatch(/^\/dev\/vda2 \/mnt\/persist ext4 /);
    await target.close();
    target = undefined;
  }, 10 * 60_000);

  it('passes the boot, persist and power-loss scenarios through skiff test --target qemu', async () => {
    const r = await skiffAsync(['test', '--target', 'qemu', '--scenario', 'boot,persist,power-loss'], { SKIFF_WORKSPACE: m.workspace });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('3 passed, 0 failed');
  }, 15 * 60_000);
});
