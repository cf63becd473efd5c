import { spawn } from 'node:child_process';
import path from 'node:path';
import { Console } from '../../harness/console.ts';
import { V86Machine } from '../../emulator/machine.ts';
import { loadImageDir, nodeWasmPath } from '../../emulator/node-image.ts';
import { BOOT_MARKER_LINE, bootMarker } from '../../images/boot-marker.ts';
import { outDir } from '../../images/paths.ts';
import { boostTree, killTree } from './process-tree.ts';
import { withTestLayers } from './test-kernels.ts';
import { PROJECT } from './tree.ts';

export const outDirOf = (workspace: string) => outDir({ rootDir: PROJECT, workspace });

/**
 * How long one image build may take from scratch (a kernel, Debian packages, a Skiff Core image):
 * a few minutes on an idle 2-core machine, but up to half an hour was seen on one shared with
 * other builds.
 */
export const BUILD_MS = 40 * 60_000;

/** A vitest timeout for a test or hook that builds `builds` images and then spends up to `restMs` on other work: past the builds' own deadlines, so a slow build fails with buildImage's message. */
export const buildTimeout = (builds: number, restMs = 0) => builds * BUILD_MS + restMs + 60_000;

/**
 * Runs the real CLI asynchronously (builds take minutes), streaming its progress to the test log
 * when SKIFF_TEST_VERBOSE is set; the suite's test-only layers (test/layers/) are on its layer path.
 * Past `timeoutMs` the command and everything it started are stopped, and it rejects naming
 * `what` and the command's last lines.
 */
export function skiffAsync(args: string[], env: NodeJS.ProcessEnv, opts: { timeoutMs?: number; what?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PROJECT, 'bin/skiff.js'), ...args], { env: { ...process.env, ...withTestLayers(env) } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    const boosted = new Set<number>();
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (process.env.SKIFF_TEST_VERBOSE) process.stderr.write(d);
      // The build waits on a cache lock (a kernel, a core image) another build holds, maybe the
      // background prebuild at the lowest priority (prebuild.ts): that one now runs at ours.
      for (const m of stderr.slice(-2000).matchAll(/waiting for (?:process|build) (\d+), which/g)) {
        const holder = Number(m[1]);
        if (!boosted.has(holder)) boostTree(holder);
        boosted.add(holder);
      }
    });
    const timer =
      opts.timeoutMs &&
      setTimeout(() => {
        killTree(child.pid!);
        const tail = stderr.trim().split('\n').slice(-15).join('\n');
        reject(new Error(`${opts.what ?? `skiff ${args.join(' ')}`} did not finish within ${opts.timeoutMs! / 60_000} min; its last lines:\n${tail}`));
      }, opts.timeoutMs);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Configures and compiles `config` in its own workspace; throws with the build's output when it fails or takes longer than `timeoutMs`. */
export async function buildImage(config: string, workspace: string, extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = BUILD_MS): Promise<string> {
  const r = await skiffAsync(['configure', 'compile'], { SKIFF_CONFIG: config, SKIFF_WORKSPACE: workspace, ...extraEnv }, { timeoutMs, what: `building ${config} (workspace ${workspace})` });
  if (r.code !== 0) throw new Error(`building ${config} failed:\n${r.stdout}\n${r.stderr}`);
  return outDirOf(workspace);
}

export interface Booted {
  machine: V86Machine;
  console: Console;
  /** The boot marker's fields: version and seconds since the kernel started. */
  ready: { version: string; seconds: number };
}

/** Boots a built browser/v86 image in v86 under Node on `disk`, up to SKIFF_READY and a shell prompt. */
export async function bootV86(imageDir: string, disk: ArrayBuffer, timeoutMs = 120_000): Promise<Booted> {
  const machine = new V86Machine({ image: loadImageDir(imageDir), disk, wasmPath: nodeWasmPath() });
  const console = new Console(machine);
  const m = bootMarker(await console.waitFor(BOOT_MARKER_LINE, timeoutMs));
  await console.run('true', 20_000);
  return { machine, console, ready: { version: m.version, seconds: m.guestSeconds } };
}
