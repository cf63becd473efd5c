import { defineConfig } from 'vitest/config';
import SuiteOrder from './test/support/suite-order.ts';

// Three tiers: `unit` (no kernel build, no boot, no network: the developer's loop, under a minute),
// `integration` (builds images and boots them in v86 and QEMU) and `e2e` (the playground in
// Chromium). `npm test` is one run of all three: unit first (a unit failure stops the run there),
// then the integration and e2e files one at a time, in the order of test/support/suite-order.ts,
// with the kernels later files need built in the background (test/support/prebuild.ts); it ends
// with the slowest files, tests and hooks. `npm run test:unit` runs the first tier only; the
// `extra` project (`npm run test:extra`) holds boots that do not fit CI's time.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/unit-first-reporter.ts', './test/support/slowest-reporter.ts'],
    sequence: { sequencer: SuiteOrder },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          // Sized for a machine twice as slow as the one the suite was written on.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // These build kernels and boot machines: one file at a time suits a 2-core machine.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          // Under `npm test` only (SKIFF_TEST_PREBUILD=1), not for a file run on its own.
          globalSetup: ['./test/support/prebuild.ts'],
          // Every test and hook states its own bound (test/support/image.ts: buildTimeout); these
          // only catch one that forgot.
          hookTimeout: 60_000,
          testTimeout: 60_000,
        },
      },
      {
        test: {
          // Builds and boots beyond CI's time budget (the kernels of riscv64 and the UEFI PC, the
          // Orange Pi push and deploy tests, the docker and WSL archives): `npm run test:extra`, not
          // part of `npm test`.
          name: 'extra',
          include: ['test/extra/**/*.test.ts'],
          fileParallelism: false,
          hookTimeout: 60_000,
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          fileParallelism: false,
          // With the integration files, one file at a time (the same group and worker limit).
          sequence: { groupOrder: 1 },
          hookTimeout: 60_000,
          testTimeout: 60_000,
        },
      },
    ],
  },
});
