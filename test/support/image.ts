import { spawn } from 'node:child_process';
import path from 'node:path';
import { Console } from '../../harness/console.ts';
import { V86Machine } from '../../emulator/machine.ts';
import { loadImageDir, nodeWasmPath } from '../../emulator/node-image.ts';
import { BOOT_MARKER_LINE, bootMarker } from '../../images/boot-marker.ts';
import { outDir } from '../../images/paths.ts';
import { PROJECT } from './tree.ts';

export const outDirOf = (workspace: string) => outDir({ rootDir: PROJECT, workspace });

/** Runs the real CLI asynchronously (builds take minutes), streaming its progress to the test log. */
export function skiffAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(PROJECT, 'bin/skiff.js'), ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (process.env.SKIFF_TEST_VERBOSE) process.stderr.write(d);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Configures and compiles `config` in its own workspace; throws with the build's output when it fails. */
export async function buildImage(config: string, workspace: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await skiffAsync(['configure', 'compile'], { SKIFF_CONFIG: config, SKIFF_WORKSPACE: workspace, ...extraEnv });
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
