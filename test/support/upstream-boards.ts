import fs from 'node:fs';
import path from 'node:path';
import { PROJECT } from './tree.ts';

export interface UpstreamBoard {
  layer: string;
  arch: string;
  board: string;
}

/** The boards of upstream SkiffOS's board table (test/fixtures/upstream-boards.tsv says where from). */
export function upstreamBoards(): UpstreamBoard[] {
  const text = fs.readFileSync(path.join(PROJECT, 'test/fixtures/upstream-boards.tsv'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [layer, arch, board] = l.split('\t');
      if (!layer || !arch || !board) throw new Error(`test/fixtures/upstream-boards.tsv: malformed row ${JSON.stringify(l)}`);
      return { layer, arch, board };
    });
}

/** The distinct layers upstream's table names, sorted. */
export const upstreamBoardLayers = () => [...new Set(upstreamBoards().map((b) => b.layer))].sort();
