#!/usr/bin/env node
// Entry for the virt/qemu* layers' `run` command: harness/qemu-run.ts through tsx, like bin/skiff.js.
import { register } from 'tsx/esm/api';

register();
const { runQemu } = await import('./qemu-run.ts');
const { SkiffError } = await import('../lib/errors.ts');
try {
  process.exitCode = runQemu(process.env);
} catch (err) {
  if (!(err instanceof SkiffError)) throw err;
  process.stderr.write(`skiff: error: ${err.describe()}\n`);
  process.exitCode = 1;
}
