// globalSetup of the integration project under `npm test` (SKIFF_TEST_PREBUILD=1): while the
// first files run, builds the heavy parts of each architecture's images (its test kernel, its
// Skiff Core root filesystem) one after another in the background, at the lowest CPU priority,
// in workspaces of its own. Much of the suite boots emulated machines on one core; this puts the
// other core to work on what later files need. Those files build their own images as before:
// the kernel and core caches are keyed by content, so they reuse what is ready and wait (on the
// cache's lock) for what is still being built, lending it their priority meanwhile (image.ts).
// A failed prebuild only costs its time: the file that needs the image builds it again and
// reports the failure.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { killTree } from './process-tree.ts';
import { IMAGES, withTestLayers } from './test-kernels.ts';
import { PROJECT } from './tree.ts';

/**
 * In the order suite-order.ts runs the files that need them. A build makes its core image before
 * its kernel, so a kernel that files need before the core image comes first on its own.
 */
export const PREBUILD = [IMAGES.i386.v86Core, IMAGES.amd64.qemu, IMAGES.amd64.qemuDocker, IMAGES.arm64.qemu, IMAGES.armhf.qemu, IMAGES.armhf.orangepiCore];

export default function prebuild(): (() => void) | undefined {
  if (process.env.SKIFF_TEST_PREBUILD !== '1') return undefined;
  const logFile = path.join(PROJECT, 'test-results', 'prebuild.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'w');
  // One shell runs the builds in turn; every process under nice inherits its priority.
  const script = PREBUILD.map(
    (config, i) => `echo "== ${config}"; SKIFF_CONFIG='${config}' SKIFF_WORKSPACE=test-prebuild-${i} '${process.execPath}' bin/skiff.js configure compile || echo "== prebuild of ${config} failed"`,
  ).join('\n');
  const child = spawn('nice', ['-n', '19', 'sh', '-c', script], { cwd: PROJECT, env: { ...process.env, ...withTestLayers() }, stdio: ['ignore', log, log] });
  process.stderr.write(`prebuilding in the background (nice 19): ${PREBUILD.join('; ')} (log: ${path.relative(PROJECT, logFile)})\n`);
  return () => {
    if (child.exitCode === null && child.signalCode === null) killTree(child.pid!);
    fs.closeSync(log);
  };
}
