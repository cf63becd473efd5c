// Board facts as layer data: QEMU_* and CARD_* from the merged debian/config, what the build and
// the card commands make of them, and the one QEMU command line the harness and `run` share.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cardFacts, debianSettings, qemuFacts } from '../../buildroot/debian/board-facts.ts';
import { selectedCard } from '../../buildroot/debian/card-layout.ts';
import { planBuild } from '../../buildroot/debian/compile.ts';
import { hostNeeds } from '../../buildroot/debian/doctor.ts';
import { resolveSelection } from '../../buildroot/layers/workspace.ts';
import { qemuCommand } from '../../harness/qemu.ts';
import { sampleManifest } from '../support/manifest.ts';
import { ctxFor, extraLayers, PROJECT, tempDir, writeTree } from '../support/tree.ts';
import { refusal } from '../support/refusal.ts';

const settingsOf = (config: string, env: NodeJS.ProcessEnv = {}) => debianSettings(resolveSelection(ctxFor(PROJECT, env), { config, from: 'SKIFF_CONFIG' }));

describe('QEMU facts from the layers', () => {
  it('read from the machine and board layers', () => {
    expect(qemuFacts(settingsOf('virt/qemu'), 'virt/qemu')).toEqual({ binary: 'qemu-system-x86_64' });
    expect(qemuFacts(settingsOf('virt/qemu_arm64'), 'x')).toEqual({ binary: 'qemu-system-aarch64', machine: 'virt', cpu: 'cortex-a53' });
    expect(qemuFacts(settingsOf('virt/qemu_armhf'), 'x')).toEqual({ binary: 'qemu-system-arm', machine: 'virt,highmem=off', cpu: 'cortex-a15' });
    expect(qemuFacts(settingsOf('virt/qemu_riscv64'), 'x')).toEqual({ binary: 'qemu-system-riscv64', machine: 'virt' });
    // The Orange Pi Zero's card boots in QEMU's model of the Orange Pi PC (same SoC), which takes exactly 1 GiB.
    expect(qemuFacts(settingsOf('orangepi/zero'), 'x')).toEqual({ binary: 'qemu-system-arm', machine: 'orangepi-pc', memoryMB: 1024 });
    expect(qemuFacts(settingsOf('pine64/rock64'), 'x')).toBeUndefined();
  });

  it('every layer that boots with BOOT_METHOD=qemu says how: the build records it for the harness', () => {
    for (const id of ['virt/qemu', 'virt/qemu_arm64', 'virt/qemu_armhf', 'virt/qemu_riscv64']) {
      const plan = planBuild(resolveSelection(ctxFor(PROJECT), { config: id, from: 'SKIFF_CONFIG' }));
      expect(plan.qemu?.binary, id).toMatch(/^qemu-system-/);
      // skiff doctor installs the emulator the tests boot it in.
      expect(hostNeeds(plan.arch, plan.bootMethod, { qemu: plan.qemu }).find((n) => n.program === plan.qemu!.binary)?.pkg, id).toMatch(/^qemu-system-(x86|arm|misc)$/);
    }
  });

  it('a layer missing one says which key', () => {
    const env = extraLayers({ 'test/emu': 'ARCH=amd64\nKERNEL_DEFCONFIG=tinyconfig\nKERNEL_IMAGE=bzImage\nBOOT_METHOD=qemu\n', 'test/model': 'QEMU_MACHINE=orangepi-pc\n' });
    const noBinary = refusal(() => planBuild(resolveSelection(ctxFor(PROJECT, env), { config: 'test/emu', from: 'SKIFF_CONFIG' })));
    expect(noBinary.message).toBe('test/emu boots in QEMU (BOOT_METHOD=qemu) but no layer sets QEMU_BINARY');
    expect(noBinary.fix).toContain('QEMU_BINARY=qemu-system-');
    expect(refusal(() => qemuFacts(settingsOf('test/model', env), 'test/model')).message).toBe('test/model sets QEMU_MACHINE but no QEMU_BINARY');
    expect(refusal(() => qemuFacts({ QEMU_BINARY: 'qemu-system-arm', QEMU_MEMORY: '1G' }, 'x')).message).toBe('QEMU_MEMORY=1G is not a whole number of MiB');
    expect(refusal(() => qemuFacts({ QEMU_BINARY: '/usr/bin/qemu-system-arm' }, 'x')).message).toBe('QEMU_BINARY=/usr/bin/qemu-system-arm is not a qemu-system-* program');
  });
});

describe('card facts from the layers', () => {
  it('read from the family layers, as format and install get them', () => {
    expect(cardFacts(settingsOf('pi/4'), 'pi/4')).toEqual({ deviceVariable: 'PI_SD', bootSizeMiB: 1024, bootMethod: 'rpi-firmware' });
    for (const [config, variable] of [['orangepi/zero', 'ORANGEPI_SD'], ['bananapi/m1', 'BANANAPI_SD'], ['pine64/rock64', 'PINE64_SD']] as const) {
      expect(selectedCard(ctxFor(PROJECT, { SKIFF_CONFIG: config }), `${config.split('/')[0]}/common`)).toMatchObject({ deviceVariable: variable, bootSizeMiB: 1024, config });
    }
  });

  it('a layer missing one says which key, and where to set it', () => {
    const env = extraLayers({ 'test/half': 'ARCH=armhf\nCARD_DEVICE_VARIABLE=HALF_SD\n', 'test/none': 'ARCH=armhf\n', 'test/odd': 'CARD_DEVICE_VARIABLE=HALF_SD\nCARD_FORMAT_BOOT_SIZE=1536K\n' });
    const half = refusal(() => selectedCard(ctxFor(PROJECT, { ...env, SKIFF_CONFIG: 'test/half' }), 'test/half'));
    expect(half.message).toBe('no layer of test/half sets CARD_FORMAT_BOOT_SIZE, which format and install need');
    expect(half.fix).toBe("set it in the board family's common layer (debian/config), e.g. CARD_FORMAT_BOOT_SIZE=1024M");
    expect(refusal(() => cardFacts(settingsOf('test/none', env), 'test/none')).message).toBe('no layer of test/none sets CARD_DEVICE_VARIABLE, which format and install need');
    expect(refusal(() => cardFacts(settingsOf('test/odd', env), 'test/odd')).message).toBe('CARD_FORMAT_BOOT_SIZE=1536K is not a whole number of MiB of at least 8M');
  });

  it('the card command of a stack without card facts fails with that, before looking at any disk', () => {
    const r = spawnSync(process.execPath, [path.join(PROJECT, 'bin/skiff.js'), 'cmd', 'pi/common/format'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...extraLayers({ 'test/pi_nocard': 'CARD_DEVICE_VARIABLE=\n' }), SKIFF_CONFIG: 'pi/4,test/pi_nocard', PI_SD: '/dev/null' },
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    // skiff cmd hands the command the whole chain as SKIFF_CONFIG.
    expect(r.stderr).toMatch(/skiff: error: no layer of \S*pi\/4,test\/pi_nocard sets CARD_DEVICE_VARIABLE/);
  });
});

describe('the QEMU command line (harness and `skiff cmd virt/qemu*/run`)', () => {
  const image = (manifest: ReturnType<typeof sampleManifest>, files: string[] = []) => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    for (const f of files) fs.writeFileSync(path.join(dir, f), f);
    return dir;
  };

  it('a machine layer: its machine and CPU, the kernel the build made, a blank persist disk, SSH on 127.0.0.1 only', () => {
    const m = sampleManifest({ arch: 'armhf', qemu: { binary: 'qemu-system-arm', machine: 'virt,highmem=off', cpu: 'cortex-a15' }, outputs: { zImage: { size: 1, sha256: '0' }, 'initramfs.cpio.zst': { size: 1, sha256: '0' } } });
    const dir = image(m);
    const disk = path.join(dir, 'disks', 'persist.img');
    const { binary, args } = qemuCommand(m, { imageDir: dir, disk, diskBytes: 8 << 20, sshPort: 2299 });
    expect(binary).toBe('qemu-system-arm');
    expect(args.slice(0, 6)).toEqual(['-M', 'virt,highmem=off', '-cpu', 'cortex-a15', '-m', '256']);
    expect(args).toContain(path.join(dir, 'zImage'));
    expect(args).toContain('user,id=net0,hostfwd=tcp:127.0.0.1:2299-:22');
    expect(args).toEqual(expect.arrayContaining(['-serial', 'stdio', '-monitor', 'none']));
    expect(fs.statSync(disk).size).toBe(8 << 20);
    expect(qemuCommand(m, { imageDir: dir, disk, terminal: true }).args).toContain('-nographic');
  });

  it('a board: the model\'s memory wins, and the card is copied once to the persist disk', () => {
    const m = sampleManifest({ qemu: { binary: 'qemu-system-arm', machine: 'orangepi-pc', memoryMB: 1024 }, board: { card: 'sdcard.img' } });
    const dir = image(m, ['sdcard.img']);
    const disk = path.join(dir, 'copy.img');
    const { args } = qemuCommand(m, { imageDir: dir, disk, memoryMB: 512 });
    expect(args.slice(0, 4)).toEqual(['-M', 'orangepi-pc', '-m', '1024']);
    expect(args).toContain(`file=${disk},if=sd,format=raw`);
    expect(fs.readFileSync(disk, 'utf8')).toBe('sdcard.img');
  });

  it('an image no layer says how to boot in QEMU is refused, naming the key', () => {
    const m = sampleManifest({ chain: ['pine64/rock64'], bootMethod: 'uboot-extlinux', qemu: undefined });
    const err = refusal(() => qemuCommand(m, { imageDir: '/images/rock64', disk: '/nonexistent/disk.img' }));
    expect(err.message).toBe('/images/rock64 holds pine64/rock64 (boots with uboot-extlinux), which no layer of it says how to boot in QEMU (QEMU_BINARY)');
  });

  it('`skiff cmd virt/qemu/run` boots what the manifest says, on this terminal, with a 2 GiB persist disk next to the image', () => {
    // A stand-in qemu-system-x86_64 on PATH that prints the command line it was given.
    const bin = tempDir();
    writeTree(bin, { 'qemu-system-x86_64': '#!/bin/sh\necho "ran: $*"\n' });
    fs.chmodSync(path.join(bin, 'qemu-system-x86_64'), 0o755);
    const root = tempDir();
    fs.symlinkSync(path.join(PROJECT, 'configs'), path.join(root, 'configs'));
    const dir = path.join(root, 'images', 'out', 'default');
    fs.mkdirSync(dir, { recursive: true });
    const run = () =>
      spawnSync(process.execPath, [path.join(PROJECT, 'bin/skiff.js'), 'cmd', 'virt/qemu/run'], {
        env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME, SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'virt/qemu' },
        encoding: 'utf8',
      });
    const none = run();
    // make passes the failure on as its own exit status.
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain(`skiff: error: no image in ${dir} (no manifest.json)`);
    expect(none.stderr).toContain('fix: build one: SKIFF_CONFIG=virt/qemu skiff configure compile');
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(sampleManifest()));
    const r = run();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`ran: -m 512 -nographic -no-reboot -kernel ${dir}/bzImage -initrd ${dir}/initramfs.cpio.zst -drive file=${dir}/persist.img,if=virtio,format=raw`);
    expect(r.stdout).toContain('hostfwd=tcp:127.0.0.1:2222-:22');
    expect(fs.statSync(path.join(dir, 'persist.img')).size).toBe(2 * 1024 ** 3);
  });
});
