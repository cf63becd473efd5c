// Imports run one way: the CLI on top, then the site, the harness and the build system, then
// deploy (skiff push, for the CLI and the harness), then the emulator, the image contract and lib
// at the bottom. A folder imports only from folders below it (and from itself); tests, e2e and the
// layers' scenario files sit outside the rule.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT } from '../support/tree.ts';

/** Higher imports lower. Folders of one rank (harness, buildroot) do not import each other. */
const RANK: Record<string, number> = { bin: 8, cli: 7, bench: 7, site: 6, harness: 5, buildroot: 5, deploy: 4, emulator: 3, images: 2, lib: 1 };
/** Test code a benchmark may reuse: it is never imported by the product. */
const OUTSIDE = new Set(['test', 'e2e', 'configs']);

const top = (file: string) => file.split('/')[0]!;

function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(PROJECT, file), 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => path.normalize(path.join(path.dirname(file), m[1]!)));
}

export function backwardImports(files: string[]): string[] {
  const bad: string[] = [];
  for (const file of files) {
    const from = top(file);
    if (OUTSIDE.has(from) || !(from in RANK)) continue;
    for (const target of importsOf(file)) {
      const to = top(target);
      if (to === from || (from === 'bench' && OUTSIDE.has(to))) continue;
      if (!(to in RANK) || RANK[to]! >= RANK[from]!) bad.push(`${file} imports ${target} (${from} may import only ${Object.keys(RANK).filter((k) => RANK[k]! < RANK[from]!).join(', ')})`);
    }
  }
  return bad;
}

describe('the import graph', () => {
  it('runs one way: no folder imports from a folder above it or beside it', () => {
    const files = execFileSync('git', ['ls-files', '*.ts', '*.mts', '*.js'], { cwd: PROJECT, encoding: 'utf8' }).split('\n').filter((f) => f.includes('/'));
    expect(backwardImports(files)).toEqual([]);
  });

  it('imports cli/ from bin/ only', () => {
    const files = execFileSync('git', ['ls-files', '*.ts', '*.mts', '*.js'], { cwd: PROJECT, encoding: 'utf8' }).split('\n').filter(Boolean);
    const users = files.filter((f) => !f.startsWith('cli/') && importsOf(f).some((t) => t.startsWith('cli/')));
    expect(users.filter((f) => !f.startsWith('test/'))).toEqual(['bin/skiff.js']);
  });
});
