// The order of the integration and e2e files (one at a time): grouped by the architecture whose
// kernel they need, in the order prebuild.ts builds those kernels in the background, so each
// group finds its kernel built while the groups before it were booting machines.
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export const FILE_ORDER = [
  // i386 (v86): the first file builds this kernel; the rest boot v86, leaving a core to the prebuild.
  'test/integration/image-v86.test.ts',
  'test/integration/emulator.test.ts',
  'test/integration/build.test.ts',
  'test/integration/core-v86.test.ts',
  'e2e/playground.test.ts',
  // No kernel: Go builds for every architecture.
  'test/integration/core-manager.test.ts',
  // x86_64 (and v86 again).
  'test/integration/harness.test.ts',
  'test/integration/image-qemu.test.ts',
  'test/integration/serial-target.test.ts',
  'test/integration/pc-bios-disk.test.ts',
  'test/integration/core-qemu.test.ts',
  // armhf and arm64.
  'test/integration/image-cross.test.ts',
  'test/integration/board-image.test.ts',
  'test/integration/pi-card.test.ts',
];

export default class SuiteOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = FILE_ORDER.indexOf(path.relative(f.project.config.root, f.moduleId));
      return i === -1 ? FILE_ORDER.length : i;
    };
    // A stable sort: files not listed (the unit tier, a new file) keep vitest's own order, last.
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}
