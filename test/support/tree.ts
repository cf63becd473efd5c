import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from '../../buildroot/layers/context.ts';

export const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Files to create: path → contents, or `{ link }` for a symlink. */
export type TreeSpec = Record<string, string | { link: string }>;

export function writeTree(root: string, spec: TreeSpec): void {
  for (const [rel, content] of Object.entries(spec)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof content === 'string') fs.writeFileSync(p, content);
    else fs.symlinkSync(content.link, p);
  }
}

export function tempDir(prefix = 'skiff-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A scratch project root holding `configs/` built from `spec`. */
export function scratchRoot(spec: TreeSpec): string {
  const root = tempDir();
  fs.mkdirSync(path.join(root, 'configs'), { recursive: true });
  writeTree(root, spec);
  return root;
}

export function ctxFor(rootDir: string, env: NodeJS.ProcessEnv = {}): Context {
  return { rootDir, env: { ...env, SKIFF_ROOT_DIR: rootDir }, workspace: (env.SKIFF_WORKSPACE ?? 'default').toLowerCase() };
}

/** A layer's files: `layer('pi/4', { deps: 'pi/common', files: { 'kernel/a': '...' } })`. */
export function layer(id: string, opts: { deps?: string; description?: string; unlisted?: boolean; files?: Record<string, string> } = {}): TreeSpec {
  const base = `configs/${id}`;
  const spec: TreeSpec = { [`${base}/metadata/description`]: opts.description ?? `the ${id} layer\n` };
  if (opts.deps !== undefined) spec[`${base}/metadata/dependencies`] = opts.deps;
  if (opts.unlisted) spec[`${base}/metadata/unlisted`] = '';
  for (const [rel, text] of Object.entries(opts.files ?? {})) spec[`${base}/${rel}`] = text;
  return spec;
}

/** Scratch layers on top of the project's (SKIFF_EXTRA_CONFIGS_PATH), each a debian/config. */
export function extraLayers(configs: Record<string, string>): NodeJS.ProcessEnv {
  const dir = tempDir();
  writeTree(dir, Object.fromEntries(Object.entries(configs).flatMap(([id, config]) => [[`${id}/debian/config`, config], [`${id}/metadata/description`, `${id} (a test layer)\n`]])));
  return { SKIFF_EXTRA_CONFIGS_PATH: dir };
}

/** Runs the real CLI (bin/skiff.js) as a user would, with only the given environment. */
export function skiff(args: string[], env: NodeJS.ProcessEnv) {
  const res = spawnSync(process.execPath, [path.join(PROJECT, 'bin/skiff.js'), ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}
