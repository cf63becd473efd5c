import fs from 'node:fs';
import path from 'node:path';
import { configsDir, type Context } from './context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { nearestNames } from '../../lib/suggest.ts';
import { quoted, printable } from '../../lib/printable.ts';
import { checkLayerName, isLayerName, layerPathVariable, PRESET_PREFIX } from './names.ts';

export type LayerOrigin = 'preset' | 'extra' | 'project' | 'implicit';

export interface Layer {
  id: string;
  dir: string;
  origin: LayerOrigin;
}

export interface Catalog {
  /** Every layer found, by id, with the search order and presets applied. */
  layers: Map<string, Layer>;
  /** Layers seen but refused (e.g. a folder that resolves outside its search path), with why. */
  refused: Map<string, string>;
  /** Things worth telling the user that do not stop the command. */
  warnings: string[];
  ctx: Context;
}

/** The search paths in precedence order: `SKIFF_EXTRA_CONFIGS_PATH` entries, then `configs/`. */
export function searchPaths(ctx: Context): { dir: string; origin: LayerOrigin }[] {
  const extra = (ctx.env.SKIFF_EXTRA_CONFIGS_PATH ?? '')
    .split(':')
    .filter((p) => p.trim() !== '')
    .map((p) => ({ dir: path.resolve(ctx.rootDir, p), origin: 'extra' as const }));
  return [...extra, { dir: configsDir(ctx), origin: 'project' }];
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function subdirs(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.isSymbolicLink() && isDir(path.join(dir, e.name))))
    .map((e) => e.name)
    .sort();
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Finds every layer at depth 2 of each search path; the first path to have a name wins. */
export function discover(ctx: Context): Catalog {
  const catalog: Catalog = { layers: new Map(), refused: new Map(), warnings: [], ctx };
  checkPresets(ctx);
  for (const { dir, origin } of searchPaths(ctx)) {
    if (!isDir(dir)) {
      if (origin === 'extra') catalog.warnings.push(`SKIFF_EXTRA_CONFIGS_PATH entry ${quoted(dir)} is not a readable folder; ignored`);
      continue;
    }
    const realRoot = fs.realpathSync(dir);
    for (const ns of subdirs(dir)) {
      for (const name of subdirs(path.join(dir, ns))) {
        const id = `${ns}/${name}`;
        if (catalog.layers.has(id) || catalog.refused.has(id)) continue;
        if (!isLayerName(id)) {
          catalog.warnings.push(`${printable(path.join(dir, id))}: ${quoted(id)} has characters outside [A-Za-z0-9_]; ignored`);
          continue;
        }
        const layerDir = path.join(dir, ns, name);
        if (!isInside(fs.realpathSync(layerDir), realRoot)) {
          catalog.refused.set(id, `${layerDir} resolves to ${fs.realpathSync(layerDir)}, outside its search path ${dir}`);
          continue;
        }
        catalog.layers.set(id, { id, dir: layerDir, origin });
      }
    }
  }
  // A preset SKIFF_CONFIG_PATH_<NS>_<NAME> beats every search path.
  for (const id of [...catalog.layers.keys()]) {
    const preset = presetDir(ctx, id);
    if (preset) catalog.layers.set(id, { id, dir: preset, origin: 'preset' });
  }
  return catalog;
}

function presetDir(ctx: Context, id: string): string | undefined {
  const variable = layerPathVariable(id);
  const value = ctx.env[variable];
  return value ? presetFolder(ctx, variable, value) : undefined;
}

/**
 * The folder a SKIFF_CONFIG_PATH_ variable names, which must be one layer's folder: an existing
 * folder, and not `/` or another folder holding the whole project (its files would all be layer files).
 */
function presetFolder(ctx: Context, variable: string, value: string): string {
  const dir = path.resolve(ctx.rootDir, value);
  const fix = `point ${variable} at the layer's own folder (the one holding its metadata/, buildroot/, ...), or unset it`;
  const given = `${variable}=${quoted(value)}`;
  if (path.parse(dir).root === dir) throw new SkiffError(`${given} is the file system root, not a layer folder`, fix);
  if (!isDir(dir)) throw new SkiffError(`${given} is not a folder`, fix);
  const real = fs.realpathSync(dir);
  if (real === fs.realpathSync(ctx.rootDir) || isInside(fs.realpathSync(ctx.rootDir), real)) {
    throw new SkiffError(`${given} is ${real}, which holds the whole project (${ctx.rootDir}), not one layer`, fix);
  }
  return dir;
}

/** Every SKIFF_CONFIG_PATH_ variable set, used or not, so a wrong one is never silently kept around. */
function checkPresets(ctx: Context): void {
  for (const [variable, value] of Object.entries(ctx.env)) {
    if (variable.startsWith(PRESET_PREFIX) && value) presetFolder(ctx, variable, value);
  }
}

/** Looks a layer up by name, with a clear error for bad names, refused folders and unknown layers. */
export function findLayer(catalog: Catalog, id: string, where = 'SKIFF_CONFIG'): Layer {
  checkLayerName(id, where);
  const found = catalog.layers.get(id);
  if (found) return found;
  const preset = presetDir(catalog.ctx, id);
  if (preset) return { id, dir: preset, origin: 'preset' };
  const refused = catalog.refused.get(id);
  if (refused) {
    throw new SkiffError(`layer ${id} (named in ${where}) is refused: ${refused}`, 'keep each layer folder inside its search path, or set its SKIFF_CONFIG_PATH_ variable explicitly');
  }
  const near = nearestNames(id, catalog.layers.keys());
  throw new SkiffError(
    `unknown layer ${id} (named in ${where})`,
    near.length > 0 ? `did you mean ${near.join(', ')}? \`skiff layers\` lists every layer` : '`skiff layers` lists every layer; SKIFF_EXTRA_CONFIGS_PATH adds folders to search',
  );
}
