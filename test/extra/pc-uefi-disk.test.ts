// intel/desktop's disk image (GPT, rEFInd on the EFI system partition) booted by OVMF in QEMU's q35.
// Outside `npm test` (`npm run test:extra`): the kernel's EFI stub (intel/desktop's kernel/00-efi)
// needs ACPI and EFI, about 300 objects more than the suite's x86_64 test kernel, so this image has
// a kernel of its own (18 minutes to build on 2 cores). The rest of the disk is the machine's.
import { describePcDisk } from '../support/pc-disk-suite.ts';
import { OWN_KERNEL_IMAGES } from '../support/test-kernels.ts';

describePcDisk({
  config: OWN_KERNEL_IMAGES.amd64Efi,
  workspace: 'test-x86-efi',
  bootMethod: 'efi',
  qemu: { binary: 'qemu-system-x86_64', machine: 'q35', firmware: 'ovmf', drive: 'virtio' },
  label: 'gpt',
  bootFiles: ['EFI/BOOT/BOOTX64.EFI', 'EFI/BOOT/refind.conf', 'bzImage', 'initramfs.cpio.zst'],
  loader: 'refind',
  // The kernel sees UEFI, and rEFInd's initrd= on its command line (the EFI stub loaded it).
  firmwareCheck: { command: 'test -d /sys/firmware/efi && echo uefi; cat /proc/cmdline', expect: /^uefi\n.*initrd=[\\/]initramfs\.cpio\.zst/s },
});
