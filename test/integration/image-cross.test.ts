import { type CrossMachine, describeCrossImage } from '../support/cross-image.ts';
import { IMAGES } from '../support/test-kernels.ts';

// The same userland and runtime, cross-compiled: a kernel from linux-source-6.1 built with
// Debian's cross gcc, Debian packages of the target architecture, booted in QEMU's virt machine.
// arm64 is the user's virt/qemu_arm64 as is; armhf boots the suite's armhf test kernel, which also
// boots the Orange Pi card (test/layers/README.md): the manifest and uname name what was booted.
const MACHINES: CrossMachine[] = [
  {
    layer: 'virt/qemu_arm64',
    config: IMAGES.arm64.qemu,
    arch: 'arm64',
    kernel: 'Image',
    // The arm64 Image header carries the magic "ARM\x64" at offset 56.
    isKernel: (k: Buffer) => k.subarray(56, 60).toString('latin1') === 'ARM\x64',
    machine: 'aarch64',
    qemuBinary: 'qemu-system-aarch64',
  },
  {
    layer: 'virt/qemu_armhf',
    config: IMAGES.armhf.qemu,
    arch: 'armhf',
    kernel: 'zImage',
    // A 32-bit arm zImage carries 0x016f2818 at offset 0x24.
    isKernel: (k: Buffer) => k.readUInt32LE(0x24) === 0x016f2818,
    machine: 'armv7l',
    qemuBinary: 'qemu-system-arm',
  },
];

describeCrossImage(MACHINES);
