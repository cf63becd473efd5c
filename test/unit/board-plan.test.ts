// A board's card plan, checked before any build: bootloader layout, sizes, device tree. Fast.
import { describe, expect, it } from 'vitest';
import { bootScript, extlinuxConf, planCard } from '../../buildroot/debian/board-image.ts';
import { parseSize, planBootloader } from '../../buildroot/debian/bootloader.ts';
import { refusal } from '../support/refusal.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('bootloader plan', () => {
  it('reads sizes as the layers write them', () => {
    expect(parseSize('8K', 'x')).toBe(8 * KiB);
    expect(parseSize('16M', 'x')).toBe(16 * MiB);
    expect(parseSize('40960', 'x')).toBe(40960);
    expect(refusal(() => parseSize('8KB', 'UBOOT_BLOBS a@8KB')).message).toBe('UBOOT_BLOBS a@8KB: "8KB" is not a size');
  });

  it('knows where Debian puts each package\'s files, by architecture', () => {
    expect(planBootloader({ ARCH: 'armhf', UBOOT_PACKAGE: 'u-boot-sunxi', UBOOT_TARGET: 'Bananapi' }, 'bananapi/m1')).toEqual({
      pkg: 'u-boot-sunxi',
      target: 'Bananapi',
      blobs: [{ file: 'u-boot-sunxi-with-spl.bin', offset: 8 * KiB }],
      bootStart: MiB,
    });
    expect(planBootloader({ ARCH: 'arm64', UBOOT_PACKAGE: 'u-boot-sunxi', UBOOT_TARGET: 'pinebook' }, 'pine64/book_a64')!.blobs).toEqual([
      { file: 'sunxi-spl.bin', offset: 8 * KiB },
      { file: 'u-boot-sunxi-with-spl.fit.itb', offset: 40 * KiB },
    ]);
    expect(planBootloader({ ARCH: 'arm64', UBOOT_PACKAGE: 'u-boot-rockchip', UBOOT_TARGET: 'rock64-rk3328' }, 'pine64/rock64')!.bootStart).toBe(16 * MiB);
    expect(planBootloader({ ARCH: 'armhf' }, 'x')).toBeUndefined();
  });

  it('takes UBOOT_BLOBS and BOOT_PARTITION_START from a layer over the table', () => {
    const p = planBootloader({ ARCH: 'armhf', UBOOT_PACKAGE: 'u-boot-sunxi', UBOOT_TARGET: 'X', UBOOT_BLOBS: 'a.bin@8K b.img@1M', BOOT_PARTITION_START: '4M' }, 'x')!;
    expect(p.blobs).toEqual([
      { file: 'a.bin', offset: 8 * KiB },
      { file: 'b.img', offset: MiB },
    ]);
    expect(p.bootStart).toBe(4 * MiB);
  });

  it('names what is missing or wrong, and the fix', () => {
    const noTarget = refusal(() => planBootloader({ ARCH: 'armhf', UBOOT_PACKAGE: 'u-boot-sunxi' }, 'fam/one'));
    expect(noTarget.message).toBe('fam/one names the bootloader package u-boot-sunxi but no UBOOT_TARGET');
    const unknown = refusal(() => planBootloader({ ARCH: 'armhf', UBOOT_PACKAGE: 'u-boot-qcom', UBOOT_TARGET: 'x' }, 'fam/one'));
    expect(unknown.message).toBe('skiff does not know where u-boot-qcom (armhf) goes on the card, and fam/one sets no UBOOT_BLOBS');
    expect(unknown.fix).toContain('UBOOT_BLOBS="u-boot-sunxi-with-spl.bin@8K"');
    expect(refusal(() => planBootloader({ ARCH: 'armhf', UBOOT_PACKAGE: 'p', UBOOT_TARGET: 'x', UBOOT_BLOBS: 'spl.bin' }, 'f')).message).toBe('UBOOT_BLOBS: "spl.bin" has no offset');
    expect(refusal(() => planBootloader({ ARCH: 'armhf', UBOOT_PACKAGE: 'p', UBOOT_TARGET: 'x', UBOOT_BLOBS: 'spl.bin@0' }, 'f')).message).toBe(
      'UBOOT_BLOBS: spl.bin at 0 would overwrite the partition table',
    );
    expect(refusal(() => planBootloader({ ARCH: 'armhf', UBOOT_PACKAGE: 'u-boot-sunxi', UBOOT_TARGET: 'x', BOOT_PARTITION_START: '1536K' }, 'f')).message).toBe(
      'BOOT_PARTITION_START=1536K is not a whole number of MiB',
    );
  });
});

describe('card plan', () => {
  const board = { ARCH: 'armhf', UBOOT_PACKAGE: 'u-boot-sunxi', UBOOT_TARGET: 'orangepi_zero', KERNEL_DTBS: 'sun8i-h2-plus-orangepi-zero.dtb' };
  it('defaults to a 256 MiB card with a 64 MiB boot partition', () => {
    expect(planCard(board, 'orangepi/zero')).toMatchObject({ sizeMiB: 256, bootSizeMiB: 64, bootloader: { pkg: 'u-boot-sunxi' } });
  });

  it('refuses a card size QEMU cannot take, a boot partition that leaves no persist, and no device tree', () => {
    const odd = refusal(() => planCard({ ...board, CARD_IMAGE_SIZE: '300M' }, 'orangepi/zero'));
    expect(odd.message).toBe('CARD_IMAGE_SIZE=300M is not a power of two MiB');
    expect(odd.fix).toContain('256M, 512M');
    expect(refusal(() => planCard({ ...board, CARD_BOOT_SIZE: '250M' }, 'orangepi/zero')).message).toBe('CARD_BOOT_SIZE=250M does not fit a 256 MiB card with 16 MiB of persist');
    expect(refusal(() => planCard({ ...board, KERNEL_DTBS: '' }, 'fam/one')).message).toBe('fam/one boots with U-Boot but names no device tree');
    expect(refusal(() => planCard({ ...board, KERNEL_DTB: 'other.dtb' }, 'fam/one')).message).toBe(
      'KERNEL_DTB=other.dtb is not among the device trees the layers build (sun8i-h2-plus-orangepi-zero.dtb)',
    );
  });

  it('settles the device tree and kernel arguments the card is built with', () => {
    expect(planCard({ ...board, KERNEL_DTBS: 'a.dtb b.dts', KERNEL_DTB: 'b.dtb', KERNEL_CMDLINE: 'quiet' }, 'x')).toMatchObject({ dtb: 'b.dtb', cmdline: 'quiet' });
    expect(planCard(board, 'x')).toMatchObject({ dtb: 'sun8i-h2-plus-orangepi-zero.dtb', cmdline: '' });
  });
});

describe('boot script', () => {
  it('loads kernel, device tree and initramfs from the partition U-Boot booted, the initramfs last for its size', () => {
    const s = bootScript('zImage', 'sun8i-h3-orangepi-lite.dtb', 'console=ttyS0,115200', false, 'orangepi/lite');
    const lines = s.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines).toEqual([
      'setenv bootargs "console=ttyS0,115200"',
      'load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} zImage',
      'load ${devtype} ${devnum}:${distro_bootpart} ${fdt_addr_r} dtbs/sun8i-h3-orangepi-lite.dtb',
      'load ${devtype} ${devnum}:${distro_bootpart} ${ramdisk_addr_r} initramfs.cpio.zst',
      'bootz ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}',
    ]);
    expect(bootScript('Image', 'x.dtb', '', true, 'c')).toContain('booti ${kernel_addr_r}');
  });

  it('extlinux.conf names kernel, tree and initramfs, and appends only when there are arguments', () => {
    const plain = extlinuxConf('Image', 'rockchip/rk3328-rock64.dtb', '', 'pine64/rock64');
    expect(plain).toContain('  kernel /Image\n  fdt /dtbs/rockchip/rk3328-rock64.dtb\n  initrd /initramfs.cpio.zst\n');
    expect(plain).not.toContain('append');
    expect(extlinuxConf('Image', 'x.dtb', 'console=ttyS2,1500000', 'c')).toContain('  append console=ttyS2,1500000\n');
  });
});
