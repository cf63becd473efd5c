// pcengines/apu2's disk image (MBR, syslinux) booted by SeaBIOS in QEMU's pc machine. It carries
// the suite's x86_64 test kernel instead of x86_64_defconfig (test/layers/README.md); the rest of
// the disk is the machine's.
import { describePcDisk } from '../support/pc-disk-suite.ts';
import { IMAGES } from '../support/test-kernels.ts';

describePcDisk({
  config: IMAGES.amd64.bios,
  workspace: 'test-x86-bios',
  bootMethod: 'bios',
  qemu: { binary: 'qemu-system-x86_64', machine: 'pc', drive: 'virtio' },
  label: 'dos',
  bootFiles: ['bzImage', 'initramfs.cpio.zst', 'ldlinux.c32', 'ldlinux.sys', 'syslinux.cfg'],
  loader: 'syslinux',
  // No UEFI, and syslinux's BOOT_IMAGE= on the command line.
  firmwareCheck: { command: 'test -d /sys/firmware/efi || echo bios; cat /proc/cmdline', expect: /^bios\n.*BOOT_IMAGE=\/bzImage/s },
});
