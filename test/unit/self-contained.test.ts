// A clone must stand alone: nothing the build, the site or the tests read lies outside the repository.
// Every `../` path in a tracked text file must land inside the checkout, on a name that is there.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT } from '../support/tree.ts';

const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: PROJECT, encoding: 'utf8' }).split('\0').filter(Boolean);
const inside = (p: string) => p === PROJECT || p.startsWith(PROJECT + path.sep);

/** Where `ref` (a `../…` path written in `file`) points, and why that is outside the tree, if it is. */
export function escapes(file: string, ref: string): string | undefined {
  const from = path.dirname(path.join(PROJECT, file));
  const target = path.resolve(from, ref);
  if (!inside(target)) return `${ref} leaves the repository (from ${path.relative(PROJECT, from) || '.'})`;
  // The first name after the climb must exist there: `../elsewhere/x` from test/unit is a path meant // outside-on-purpose
  // relative to the checkout's root, which lands outside it.
  const climbs = ref.match(/^(?:\.\.\/)+/)![0];
  const first = ref.slice(climbs.length).split('/')[0]!;
  if (first && !fs.existsSync(path.join(path.resolve(from, climbs), first))) return `${ref}: no "${first}" where it points (${path.relative(PROJECT, path.resolve(from, climbs)) || '.'})`;
  return undefined;
}

function outsideRefs(): string[] {
  const found: string[] = [];
  for (const file of tracked) {
    if (file === 'package-lock.json') continue;
    // Symlinks in a layer's root_overlay point inside the image, not the checkout.
    if (fs.lstatSync(path.join(PROJECT, file)).isSymbolicLink()) continue;
    const buf = fs.readFileSync(path.join(PROJECT, file));
    if (buf.includes(0)) continue; // binary
    const lines = buf.toString('utf8').split('\n');
    lines.forEach((line, i) => {
      // A test's deliberately bad input (a layer name that climbs out, a fake sysfs link) says so.
      if (line.includes('outside-on-purpose')) return;
      for (const m of line.matchAll(/(?<![\w./])(?:\.\.\/)+[\w.@-]*/g)) {
        const why = escapes(file, m[0]);
        if (why) found.push(`${file}:${i + 1}: ${why}`);
      }
    });
  }
  return found;
}

describe('the repository stands alone', () => {
  it('has no tracked file that refers to a path outside it', () => {
    expect(outsideRefs()).toEqual([]);
  });

  it('catches a path out of the tree, and one meant from the root that lands outside it', () => {
    expect(escapes('test/unit/x.test.ts', '../../../elsewhere/seeds/README.md')).toMatch(/leaves the repository/); // outside-on-purpose
    expect(escapes('README.md', '../elsewhere/seeds/README.md')).toMatch(/leaves the repository/); // outside-on-purpose
    expect(escapes('test/unit/x.test.ts', '../elsewhere/seeds/001.txt')).toMatch(/no "elsewhere"/); // outside-on-purpose
    expect(escapes('test/unit/x.test.ts', '../../lib/errors.ts')).toBeUndefined();
  });
});
