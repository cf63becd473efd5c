import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { SkiffError } from '../lib/errors.ts';
import type { Scenario } from './scenarios.ts';

/**
 * Scenarios a user (lab file `scenarios:`, `--scenarios FILE`) or a layer (`tests/scenarios.ts`
 * in the layer) adds: modules exporting `scenarios: Scenario[]`, with the same helpers the
 * built-in ones use (import { sh, check } from the harness's scenarios module).
 */
export async function loadScenarioModules(files: string[]): Promise<Scenario[]> {
  const out: Scenario[] = [];
  for (const file of files) {
    if (!fs.existsSync(file)) throw new SkiffError(`scenario module ${file} does not exist`, 'fix the path in the lab file or on the command line');
    let mod: { scenarios?: unknown };
    try {
      mod = (await import(pathToFileURL(path.resolve(file)).href)) as { scenarios?: unknown };
    } catch (err) {
      throw new SkiffError(`scenario module ${file} does not load: ${firstLines((err as Error).message)}`, `fix the module (npx tsx ${file} shows the whole error)`);
    }
    const list = mod.scenarios;
    if (!Array.isArray(list) || !list.every((s) => s && typeof s.name === 'string' && typeof s.run === 'function')) {
      throw new SkiffError(`${file} exports no scenarios`, 'export const scenarios = [{ name, description, needs: [], run: async ({ target }) => { ... } }]');
    }
    out.push(...(list as Scenario[]).map((s) => ({ ...s, needs: s.needs ?? [], description: s.description ?? s.name })));
  }
  return out;
}

// Enough of a load error for one line: a TypeScript syntax error says where only on its second line.
const firstLines = (message: string) =>
  stripVTControlCharacters(message)
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, 2)
    .join(' ');

/** `tests/scenarios.ts` of every layer an image was built from (paths from its manifest). */
export function layerScenarioFiles(rootDir: string, layers: { path: string }[]): string[] {
  return layers.map((l) => path.resolve(rootDir, l.path, 'tests', 'scenarios.ts')).filter((f) => fs.existsSync(f));
}
