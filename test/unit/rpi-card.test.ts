// The Raspberry Pi card: its GPU firmware as layer data, the config.txt the build writes, and how
// the harness takes the firmware's part in QEMU, on a real FAT partition made with mtools.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { debianSettings, qemuFacts } from '../../buildroot/debian/board-facts.ts';
import { rpiConfigTxt } from '../../buildroot/debian/board-image.ts';
import { fetchFirmware, planFirmware } from '../../buildroot/debian/firmware.ts';
import { Progress } from '../../buildroot/debian/progress.ts';
import { resolveSelection } from '../../buildroot/layers/workspace.ts';
import { qemuCommand } from '../../harness/qemu.ts';
import { parseConfigTxt, readRpiBootFiles } from '../../harness/rpi-boot.ts';
import { SkiffError } from '../../lib/errors.ts';
import { sampleManifest } from '../support/manifest.ts';
import { ctxFor, PROJECT, tempDir } from '../support/tree.ts';

const settingsOf = (config: string) => debianSettings(resolveSelection(ctxFor(PROJECT), { config, from: 'SKIFF_CONFIG' }));

async function refusal(f: () => unknown): Promise<SkiffError> {
  try {
    await f();
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    return err as SkiffError;
  }
  throw new Error('expected a SkiffError');
}

describe('the GPU firmware, as layer data', () => {
  it('comes from Debian\'s raspi-firmware in non-free-firmware, in the variant upstream picks for each board', () => {
    const pi3 = planFirmware(settingsOf('pi/3'), 'pi/3')!;
    expect(pi3).toEqual({
      pkg: 'raspi-firmware',
      component: 'non-free-firmware',
      folder: 'usr/lib/raspi-firmware',
      files: [
        { from: 'bootcode.bin', to: 'bootcode.bin' },
        { from: 'start_x.elf', to: 'start.elf' },
        { from: 'fixup_x.dat', to: 'fixup.dat' },
      ],
      overrideVariable: 'SKIFF_RPI_FIRMWARE_DIR',
    });
    expect(planFirmware(settingsOf('pi/4'), 'pi/4')!.files.map((f) => f.to)).toEqual(['start4.elf', 'fixup4.dat']);
    expect(planFirmware(settingsOf('orangepi/zero'), 'orangepi/zero')).toBeUndefined();
  });

  it('refuses a half-named firmware, naming the key to set', async () => {
    expect((await refusal(() => planFirmware({ FIRMWARE_FILES: 'start.elf' }, 'x/y'))).message).toBe('x/y sets FIRMWARE_FILES but no FIRMWARE_PACKAGE');
    expect((await refusal(() => planFirmware({ FIRMWARE_PACKAGE: 'raspi-firmware', FIRMWARE_FOLDER: 'usr/lib/raspi-firmware' }, 'x/y'))).message).toContain('no FIRMWARE_FILES');
    expect((await refusal(() => planFirmware({ FIRMWARE_PACKAGE: 'p', FIRMWARE_FOLDER: 'f', FIRMWARE_FILES: 'a:b:c' }, 'x/y'))).message).toContain('"a:b:c" is not a file name');
  });

  it('takes the files from the folder SKIFF_RPI_FIRMWARE_DIR names, and says which file that folder lacks', async () => {
    const plan = planFirmware(settingsOf('pi/3'), 'pi/3')!;
    const dir = tempDir();
    for (const f of ['bootcode.bin', 'start_x.elf', 'fixup_x.dat']) fs.writeFileSync(path.join(dir, f), f);
    const quiet = new Progress(1, () => {});
    const ctx = (env: NodeJS.ProcessEnv) => ctxFor(tempDir(), env);
    const got = await fetchFirmware(ctx({ SKIFF_RPI_FIRMWARE_DIR: dir }), 'armhf', plan, quiet);
    expect(got.source).toEqual({ folder: dir, variable: 'SKIFF_RPI_FIRMWARE_DIR' });
    expect(got.files.map((f) => [path.basename(f.path), f.to])).toEqual([['bootcode.bin', 'bootcode.bin'], ['start_x.elf', 'start.elf'], ['fixup_x.dat', 'fixup.dat']]);
    fs.rmSync(path.join(dir, 'fixup_x.dat'));
    const missing = await refusal(() => fetchFirmware(ctx({ SKIFF_RPI_FIRMWARE_DIR: dir }), 'armhf', plan, quiet));
    expect(missing.message).toContain('has no fixup_x.dat');
    const file = path.join(dir, 'bootcode.bin');
    expect((await refusal(() => fetchFirmware(ctx({ SKIFF_RPI_FIRMWARE_DIR: file }), 'armhf', plan, quiet))).message).toContain('is not a folder');
  });
});

describe('config.txt', () => {
  it('names the kernel, the initramfs and, for arm64, the 64-bit mode, as the harness reads it back', () => {
    expect(parseConfigTxt(rpiConfigTxt('zImage', false, 'pi/3'))).toEqual({ kernel: 'zImage', initramfs: 'initramfs.cpio.zst', arm64: false });
    expect(parseConfigTxt(rpiConfigTxt('Image', true, 'pi/4'))).toEqual({ kernel: 'Image', initramfs: 'initramfs.cpio.zst', arm64: true });
    expect(parseConfigTxt('# kernel=no\nkernel=a.img # here\narm_64bit=0\n')).toEqual({ kernel: 'a.img', initramfs: undefined, arm64: false });
  });
});

describe('QEMU in the GPU firmware\'s place', () => {
  it('needs QEMU_DTB for a Pi card, and refuses it elsewhere or when the layers do not build it', async () => {
    const pi = { BOOT_METHOD: 'rpi-firmware', QEMU_BINARY: 'qemu-system-arm', KERNEL_DTBS: 'bcm2836-rpi-2-b.dtb broadcom/bcm2837-rpi-3-b.dtb' };
    expect(qemuFacts({ ...pi, QEMU_DTB: 'bcm2837-rpi-3-b.dtb', QEMU_SERIAL: '2' }, 'x')).toEqual({ binary: 'qemu-system-arm', serial: 2, dtb: 'bcm2837-rpi-3-b.dtb' });
    expect((await refusal(() => qemuFacts(pi, 'x'))).message).toContain('sets no QEMU_DTB');
    expect((await refusal(() => qemuFacts({ ...pi, QEMU_DTB: 'bcm2711-rpi-4-b.dtb' }, 'x'))).message).toContain('is not among the device trees');
    expect((await refusal(() => qemuFacts({ ...pi, BOOT_METHOD: 'uboot-script', QEMU_DTB: 'bcm2836-rpi-2-b.dtb' }, 'x'))).message).toContain('only a Raspberry Pi card uses');
    expect((await refusal(() => qemuFacts({ ...pi, QEMU_DTB: 'bcm2836-rpi-2-b.dtb', QEMU_SERIAL: 'two' }, 'x'))).message).toContain('QEMU_SERIAL=two');
  });

  it('boots the kernel, initramfs, device tree and arguments it reads from the card\'s boot partition', () => {
    const dir = tempDir();
    const card = path.join(dir, 'sdcard.img');
    fs.writeFileSync(card, '');
    fs.truncateSync(card, 16 << 20);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };
    const sh = (cmd: string, args: string[], input?: string) => {
      const r = spawnSync(cmd, args, { env, input, encoding: 'utf8' });
      expect(r.status, `${cmd} ${args.join(' ')}: ${r.stderr}`).toBe(0);
    };
    sh('sfdisk', ['--quiet', card], 'label: dos\nstart=2048, size=16384, type=c\nstart=18432, type=83\n');
    const fat = `${card}@@${2048 * 512}`;
    sh('mformat', ['-i', fat, '-T', '16384', '::']);
    const files = { 'config.txt': rpiConfigTxt('zImage', false, 'pi/3'), 'cmdline.txt': 'quiet loglevel=3\n', zImage: 'kernel', 'initramfs.cpio.zst': 'initramfs', 'bcm2836-rpi-2-b.dtb': 'dtb' };
    for (const [name, text] of Object.entries(files)) {
      fs.writeFileSync(path.join(dir, name), text);
      sh('mcopy', ['-i', fat, path.join(dir, name), `::${name}`]);
    }
    const m = sampleManifest({ arch: 'armhf', bootMethod: 'rpi-firmware', qemu: { binary: 'qemu-system-arm', machine: 'raspi2b', memoryMB: 1024, dtb: 'bcm2836-rpi-2-b.dtb', serial: 2 }, board: { card: 'sdcard.img' } });
    const disk = path.join(dir, 'run', 'card.img');
    const { args } = qemuCommand(m, { imageDir: dir, disk });
    const boot = `${disk}.boot`;
    expect(args).toEqual(expect.arrayContaining(['-kernel', path.join(boot, 'zImage'), '-initrd', path.join(boot, 'initramfs.cpio.zst'), '-dtb', path.join(boot, 'bcm2836-rpi-2-b.dtb'), '-append', 'quiet loglevel=3']));
    expect(fs.readFileSync(path.join(boot, 'zImage'), 'utf8')).toBe('kernel');
    // The console is the second UART: the first goes nowhere.
    expect(args.join(' ')).toContain('-serial null -serial stdio');
    expect(args).toContain(`file=${disk},if=sd,format=raw`);

    // A card whose boot partition lacks what config.txt names is refused, naming the file.
    sh('mdel', ['-i', fat, '::zImage']);
    fs.rmSync(disk);
    expect(() => qemuCommand(m, { imageDir: dir, disk })).toThrow("the card's boot partition has no zImage, which config.txt names as the kernel");
  });
});
