import fs from 'node:fs';
import path from 'node:path';
import { vi } from 'vitest';
import { main } from '../../cli/main.ts';

/**
 * The skiff CLI run in this process (the same `main` bin/skiff.js calls) with only the given
 * environment, its stdout and stderr captured: for the many argument and environment cases that
 * would each cost a Node start as a child process. A command's own children still write to the fds.
 */
export async function skiffHere(args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(args, { PATH: process.env.PATH, HOME: process.env.HOME, ...env });
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Every path under `root` with its file contents (or link target): equal snapshots, nothing written. */
export function treeSnapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const rel = path.relative(root, p);
      if (e.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(p)}`;
      else if (e.isDirectory()) {
        out[rel] = '<dir>';
        walk(p);
      } else out[rel] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(root);
  return out;
}
