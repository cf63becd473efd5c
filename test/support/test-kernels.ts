import path from 'node:path';
import { PROJECT } from './tree.ts';

/** The suite's test-only layers (test/layers/README.md), found through SKIFF_EXTRA_CONFIGS_PATH. */
export const TEST_LAYERS = path.join(PROJECT, 'test/layers');

/** `env` with test/layers/ added to the layer search path, after any paths it already names. */
export function withTestLayers(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const extra = env.SKIFF_EXTRA_CONFIGS_PATH ?? process.env.SKIFF_EXTRA_CONFIGS_PATH;
  return { ...env, SKIFF_EXTRA_CONFIGS_PATH: [extra, TEST_LAYERS].filter(Boolean).join(':') };
}

/**
 * The configurations the integration tests build, by architecture. Kernels dominate the suite's
 * time, so the images of one architecture ask for one kernel configuration (the kernel cache is
 * keyed by the final .config): a test-only layer gives an image the options of its siblings.
 * Where the user's own configuration is the shared one (virt/qemu_arm64, browser/v86), it is
 * built as is.
 */
export const IMAGES = {
  i386: {
    v86: 'browser/v86',
    v86Core: 'browser/v86,skiff/core',
  },
  amd64: {
    // Docker's and runc's kernel options in every x86_64 image: virt/qemu with them boots as
    // virt/qemu does, and the docker test needs no kernel of its own. The BIOS PC's disk image boots
    // the same kernel under SeaBIOS.
    qemu: 'virt/qemu,test/kernel_amd64',
    qemuCore: 'virt/qemu,skiff/core,test/kernel_amd64',
    qemuDocker: 'virt/qemu,skiff/core,apps/docker,test/kernel_amd64',
    bios: 'pcengines/apu2,test/kernel_amd64',
  },
  armhf: {
    // One small kernel for QEMU's virt machine, the Orange Pi card and the Pi 2/3 card (their full
    // defconfig builds are in `npm run build:all-boards`).
    qemu: 'virt/qemu_armhf,test/kernel_armhf',
    orangepi: 'orangepi/zero,test/kernel_armhf',
    orangepiCore: 'orangepi/zero,skiff/core,test/kernel_armhf',
    // The Pi 2/3 card, booted in QEMU's raspi machines (the full multi_v7_defconfig is built by `npm run build:all-boards`).
    pi3: 'pi/3,test/kernel_armhf',
  },
  arm64: {
    qemu: 'virt/qemu_arm64',
    // Checked, not booted (QEMU has no RK3328): the card carries virt/qemu_arm64's kernel.
    rock64: 'pine64/rock64,test/kernel_arm64',
  },
  // Outside `npm test` (test/extra/, `npm run test:extra`): a fifth kernel does not fit CI's time.
  riscv64: {
    qemu: 'virt/qemu_riscv64',
  },
} as const;

/**
 * Images with a kernel of their own, built only outside `npm test` (test/extra/): the UEFI PC keeps
 * its layer's EFI stub (ACPI, EFI), about 300 objects more than the amd64 test kernel.
 */
export const OWN_KERNEL_IMAGES = {
  amd64Efi: 'intel/desktop,test/kernel_amd64',
} as const;
