import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextFromEnv } from '../../buildroot/layers/context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { unquote } from '../../buildroot/layers/fragments.ts';
import { resolveSelection } from '../../buildroot/layers/workspace.ts';
import type { BoardRow } from '../../buildroot/boards.ts';
import { planBuild } from '../../buildroot/debian/compile.ts';
import { layer, PROJECT, scratchRoot, skiff } from '../support/tree.ts';
import { upstreamBoards } from '../support/upstream-boards.ts';

const ctx = { ...contextFromEnv({}), rootDir: PROJECT };

/** The merged debian/config of a layer resolved on its own, read independently of buildroot/boards.ts. */
function debianSettings(id: string): Record<string, string> {
  const r = resolveSelection(ctx, { config: id, from: 'SKIFF_CONFIG' });
  return Object.fromEntries([...r.configuration.configs.debian.final.values()].map((s) => [s.symbol, unquote(s.value) ?? '']));
}

const projectBoards = (() => {
  const r = skiff(['boards', '--json'], {});
  if (r.code !== 0) throw new Error(`skiff boards --json failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as BoardRow[];
})();
const row = (id: string) => projectBoards.find((b) => b.layer === id);

describe('skiff boards on the project\'s layers', () => {
  it('lists every board of upstream\'s Supported Systems table, with its CPU\'s architecture', () => {
    const upstream = upstreamBoards();
    expect(upstream.length).toBeGreaterThan(45);
    expect(upstream.filter((b) => row(b.layer)?.arch !== b.arch).map((b) => `${b.layer}: ${row(b.layer)?.arch ?? 'missing'}, expected ${b.arch}`)).toEqual([]);
  });

  it('lists no shared family layer and every row names an architecture', () => {
    expect(projectBoards.filter((b) => b.layer.endsWith('/common') || b.layer.startsWith('skiff/')).map((b) => b.layer)).toEqual([]);
    expect(projectBoards.filter((b) => !b.arch || !b.board || !b.bootloader).map((b) => b.layer)).toEqual([]);
  });

  it('shows the blocker of a layer that cannot build offline', () => {
    const nano = row('jetson/nano')!;
    expect(nano.offline).toBe('no: needs SKIFF_JETSON_L4T_DIR');
    expect(nano.blocker).toBe(debianSettings('jetson/nano').OFFLINE_BLOCKER);
    for (const b of projectBoards) {
      const s = debianSettings(b.layer);
      if (s.OFFLINE !== 'no') continue;
      expect(b.blocker, b.layer).toBe(s.OFFLINE_BLOCKER);
      expect(b.offline, b.layer).toMatch(/^no: /);
      for (const v of s.OFFLINE_BLOCKER!.match(/\bSKIFF_[A-Z0-9_]+/g) ?? []) expect(b.offline, b.layer).toContain(v);
    }
  });

  it('builds the Raspberry Pis offline, their GPU firmware taken from Debian', () => {
    const pi4 = row('pi/4')!;
    expect(pi4.chain).toEqual(['skiff/moduleimg', 'pi/common', 'pi/4x64', 'pi/4']);
    for (const layer of ['pi/0', 'pi/1', 'pi/3', 'pi/4', 'pi/4x32', 'pi/4x64']) {
      expect(row(layer)?.offline, layer).toBe('yes');
      expect(row(layer)?.blocker, layer).toBeUndefined();
      expect(debianSettings(layer).FIRMWARE_PACKAGE, layer).toBe('raspi-firmware');
    }
  });

  it('shows the architecture and boot test of browser/v86, the QEMU machines, the Orange Pi Zero card, the Pi 2/3 card, the two PCs and riscv64, and claims no other boot test', () => {
    expect(row('browser/v86')).toMatchObject({ arch: 'i386', bootloader: 'v86', kernel: 'tinyconfig', offline: 'yes', bootTested: 'v86 in Node and Chromium, npm test' });
    expect(row('virt/qemu')).toMatchObject({ arch: 'amd64', bootloader: 'qemu', kernel: 'tinyconfig', offline: 'yes', bootTested: 'qemu-system-x86_64, npm test' });
    expect(row('virt/qemu_arm64')).toMatchObject({ arch: 'arm64', bootTested: 'qemu-system-aarch64, npm test' });
    expect(row('virt/qemu_armhf')).toMatchObject({ arch: 'armhf', bootTested: 'qemu-system-arm, npm test' });
    expect(row('orangepi/zero')).toMatchObject({ arch: 'armhf', bootTested: 'qemu-system-arm -M orangepi-pc from its SD card image, npm test' });
    expect(row('intel/desktop')).toMatchObject({ arch: 'amd64', bootloader: 'efi', bootTested: 'qemu-system-x86_64 -M q35 with OVMF (UEFI) from its disk image, npm run test:extra (not in CI)' });
    expect(row('pcengines/apu2')).toMatchObject({ arch: 'amd64', bootloader: 'bios', bootTested: 'qemu-system-x86_64 -M pc with SeaBIOS from its disk image, npm test' });
    // Stacked on intel/desktop, whose image is booted: not booted themselves.
    expect(row('apple/macbook')?.bootTested).toBe('no');
    expect(row('valve/deck')?.bootTested).toBe('no');
    expect(row('pi/3')?.bootTested).toMatch(/^qemu-system-arm -M raspi2b from its SD card image/);
    // Booted by its own test outside npm test (test/extra/), and the column says so.
    expect(row('virt/qemu_riscv64')).toMatchObject({ arch: 'riscv64', bootTested: 'qemu-system-riscv64 -M virt with OpenSBI, npm run test:extra (not in CI)' });
    expect(projectBoards.filter((b) => b.bootTested !== 'no').map((b) => b.layer).sort()).toEqual(['browser/v86', 'intel/desktop', 'orangepi/zero', 'pcengines/apu2', 'pi/3', 'virt/qemu', 'virt/qemu_arm64', 'virt/qemu_armhf', 'virt/qemu_riscv64']);
  });

  it('reads bootloader and kernel from the merged stack', () => {
    expect(row('bananapi/m1')).toMatchObject({ arch: 'armhf', bootloader: 'u-boot-sunxi Bananapi', kernel: 'sunxi_defconfig' });
    expect(row('pi/3')!.bootloader).toMatch(/^rpi-firmware/);
    expect(row('intel/desktop')).toMatchObject({ arch: 'amd64', bootloader: 'efi', kernel: 'x86_64_defconfig' });
    // A root filesystem archive on its host's kernel: built offline, never booted by this project.
    expect(row('virt/wsl')).toMatchObject({ bootloader: 'wsl', kernel: 'none', offline: 'yes', bootTested: 'no' });
    expect(row('virt/docker')).toMatchObject({ bootloader: 'container', kernel: 'none', offline: 'yes', bootTested: 'no' });
  });

  it.each(projectBoards.map((b) => b.layer))('%s: planBuild succeeds or names its blocker, and the offline column agrees', (id) => {
    const s = debianSettings(id);
    const r = resolveSelection(ctx, { config: id, from: 'SKIFF_CONFIG' });
    let error: unknown;
    try {
      planBuild(r);
    } catch (err) {
      error = err;
    }
    if (s.OFFLINE === 'no') {
      expect(error).toBeInstanceOf(SkiffError);
      expect((error as SkiffError).message).toContain(s.OFFLINE_BLOCKER);
    } else {
      expect(error).toBeUndefined();
    }
    expect(row(id)!.offline === 'yes').toBe(error === undefined);
    // A U-Boot board's plan includes its card: where each bootloader file goes, before partition 1.
    const plan = error ? undefined : planBuild(r);
    if (plan && (s.BOOT_METHOD === 'uboot-script' || s.BOOT_METHOD === 'uboot-extlinux')) {
      expect(plan.card, id).toBeDefined();
      if (s.UBOOT_PACKAGE) {
        const b = plan.card!.bootloader!;
        expect(b.pkg).toBe(s.UBOOT_PACKAGE);
        expect(b.blobs.length).toBeGreaterThan(0);
        for (const blob of b.blobs) expect(blob.offset, `${id} ${blob.file}`).toBeLessThan(b.bootStart);
      }
    }
  });

  it('prints an aligned text table by default, and help', () => {
    const r = skiff(['boards'], {});
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^BOARD +LAYER +ARCH +BOOTLOADER +KERNEL +OFFLINE +BOOT-TESTED$/);
    const at = lines[0]!.indexOf('LAYER');
    for (const b of projectBoards) expect(lines.find((l) => l.slice(at).startsWith(`${b.layer} `)), b.layer).toBeDefined();
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('For a U-Boot board or a Raspberry Pi, yes means skiff compile writes its card image');
    const help = skiff(['boards', '--help'], {});
    expect(help.stdout).toMatch(/^skiff boards \[--json\] \[--markdown\]/);
  });

  it('is the README\'s board table, exactly', () => {
    const md = skiff(['boards', '--markdown'], {});
    expect(md.code).toBe(0);
    const readme = fs.readFileSync(path.join(PROJECT, 'README.md'), 'utf8');
    const begin = '<!-- boards:begin -->\n';
    const from = readme.indexOf(begin);
    const to = readme.indexOf('<!-- boards:end -->');
    expect(from, 'README.md has no <!-- boards:begin --> marker').toBeGreaterThan(0);
    expect(to).toBeGreaterThan(from);
    expect(readme.slice(from + begin.length, to), 'README board table is stale: paste `npx skiff boards --markdown` between the markers').toBe(md.stdout);
  });
});

describe('skiff boards on a scratch tree', () => {
  const common = 'ARCH=armhf\nKERNEL_DEFCONFIG=multi_v7_defconfig\nKERNEL_IMAGE=zImage\nBOOT_METHOD=uboot-script\nOFFLINE=yes\nBOOT_TESTED="family tested"\n';
  const root = scratchRoot({
    ...layer('fam/common', { description: 'Shared family settings: add a board\n', files: { 'debian/config': common } }),
    ...layer('fam/one', { deps: 'fam/common', description: 'Board One (SoC X, 2 cores): details\n', files: { 'debian/config': 'UBOOT_PACKAGE=u-boot-sunxi\nUBOOT_TARGET=One\nKERNEL_DTBS=one.dtb\n' } }),
    ...layer('fam/two', {
      deps: 'fam/common',
      description: 'Board Two: details\n',
      files: { 'debian/config': 'OFFLINE=no\nOFFLINE_BLOCKER=the vendor blob is not in Debian: set SKIFF_FAM_BLOB_DIR to its folder\n' },
    }),
    ...layer('fam/three', { deps: 'fam/common', description: 'Board Three\n', files: { 'debian/config': 'OFFLINE=no\nOFFLINE_BLOCKER=vendor firmware is missing; ask the vendor\n' } }),
    ...layer('fam/hidden', { unlisted: true, files: { 'debian/config': 'ARCH=arm64\n' } }),
    ...layer('util/tool', { description: 'a helper with no architecture\n' }),
    ...layer('vm/box', {
      description: 'Box | emulator with a pipe: details\n',
      files: { 'debian/config': 'ARCH=i386\nKERNEL_DEFCONFIG=tinyconfig\nKERNEL_IMAGE=bzImage\nBOOT_METHOD=v86\nBOOT_TESTED="booted in a test"\n' },
    }),
    ...layer('vm/rootfs', { description: 'A root file system\n', files: { 'debian/config': 'ARCH=amd64\nBOOT_METHOD=container\n' } }),
  });
  const rows = JSON.parse(skiff(['boards', '--json'], { SKIFF_ROOT_DIR: root }).stdout) as BoardRow[];
  const get = (id: string) => rows.find((b) => b.layer === id);

  it('takes board and machine layers only, in name order', () => {
    expect(rows.map((b) => b.layer)).toEqual(['fam/one', 'fam/three', 'fam/two', 'vm/box', 'vm/rootfs']);
  });

  it('builds each row from the layer\'s resolved stack', () => {
    expect(get('fam/one')).toMatchObject({ board: 'Board One', arch: 'armhf', bootloader: 'u-boot-sunxi One', kernel: 'multi_v7_defconfig', offline: 'yes', chain: ['fam/common', 'fam/one'] });
    expect(get('fam/two')).toMatchObject({ offline: 'no: needs SKIFF_FAM_BLOB_DIR', blocker: 'the vendor blob is not in Debian: set SKIFF_FAM_BLOB_DIR to its folder' });
    expect(get('fam/three')).toMatchObject({ offline: 'no: vendor firmware is missing', blocker: 'vendor firmware is missing; ask the vendor' });
    expect(get('vm/rootfs')).toMatchObject({ offline: 'yes', kernel: 'none', bootloader: 'container' });
    expect(get('fam/one')!.blocker).toBeUndefined();
  });

  it('claims a boot test only for the layer that declares it, not for layers stacked on it', () => {
    expect(get('vm/box')!.bootTested).toBe('booted in a test');
    expect(get('fam/one')!.bootTested).toBe('no');
  });

  it('escapes pipes in the Markdown table', () => {
    const md = skiff(['boards', '--markdown'], { SKIFF_ROOT_DIR: root }).stdout;
    const box = md.split('\n').find((l) => l.includes('`vm/box`'))!;
    expect(box).toMatch(/^\| Box \\\| emulator +\| `vm\/box` +\| i386 +\| v86 +\| tinyconfig +\| yes +\| booted in a test +\|$/);
    expect(md.split('\n')[1]).toMatch(/^\| -+ \| -+ \|/);
  });
});
