// A PC disk image from the debian backend, checked and booted as a user would: the partition table
// and boot files of disk.img, a boot to SKIFF_READY under the machine's firmware in QEMU, then the
// harness's boot, persist and power-loss scenarios. The BIOS PC runs in `npm test`
// (test/integration/pc-bios-disk.test.ts), the UEFI PC, whose EFI stub needs a kernel of its own, in
// `npm run test:extra` (test/extra/pc-uefi-disk.test.ts).
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QemuTarget } from '../../harness/targets/qemu.ts';
import { readManifest } from '../../images/manifest.ts';
import { fatList, partitionTable, sh } from './card.ts';
import { buildImage, buildTimeout, skiffAsync } from './image.ts';

const MiB = 1024 * 1024;

export interface PcDiskMachine {
  config: string;
  workspace: string;
  bootMethod: 'efi' | 'bios';
  qemu: { binary: string; machine: string; firmware?: string; drive: string };
  label: 'gpt' | 'dos';
  bootFiles: string[];
  loader: string;
  /** A console command and what its output shows of the firmware that booted the kernel. */
  firmwareCheck: { command: string; expect: RegExp };
}

export function describePcDisk(m: PcDiskMachine): void {
  describe(`${m.config}: a PC disk image in QEMU`, () => {
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
}
