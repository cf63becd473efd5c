import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'e2e/**/*.test.ts'],
    // Integration files boot machines and build kernels: one at a time suits a 2-core machine.
    fileParallelism: false,
    hookTimeout: 20 * 60_000,
  },
});
