import { defineConfig } from 'vitest/config';

// Three tiers: `unit` (no kernel build, no boot, no network: the developer's loop, under a minute),
// `integration` (builds images and boots them in v86 and QEMU) and `e2e` (the playground in
// Chromium). `npm test` runs all three; `npm run test:unit` only the first.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
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
          hookTimeout: 20 * 60_000,
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          fileParallelism: false,
          hookTimeout: 20 * 60_000,
          testTimeout: 60_000,
        },
      },
    ],
  },
});
