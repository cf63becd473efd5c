// virt/qemu_riscv64 (Debian trixie's packages, merged /usr) in qemu-system-riscv64 -M virt with
// OpenSBI. Outside `npm test`: its kernel is a fifth build, about 8 minutes on 2 cores, which CI's
// time budget does not hold (README, Tests).
import { describeCrossImage } from '../support/cross-image.ts';
import { IMAGES } from '../support/test-kernels.ts';

describeCrossImage([
  {
    layer: 'virt/qemu_riscv64',
    config: IMAGES.riscv64.qemu,
    arch: 'riscv64',
    kernel: 'Image',
    // The RISC-V Image header carries "RISCV\0\0\0" at offset 48 and "RSC\x05" at 56.
    isKernel: (k: Buffer) => k.subarray(48, 53).toString('latin1') === 'RISCV' && k.subarray(56, 60).toString('latin1') === 'RSC\x05',
    machine: 'riscv64',
    qemuBinary: 'qemu-system-riscv64',
  },
]);
