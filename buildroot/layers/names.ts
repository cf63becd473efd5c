import { SkiffError } from '../../lib/errors.ts';

/** One part of a layer name, as upstream SkiffOS accepts it. */
const PART = /^[A-Za-z0-9_]+$/;

export function isLayerName(id: string): boolean {
  const parts = id.split('/');
  return parts.length === 2 && parts.every((p) => PART.test(p));
}

/** Throws a SkiffError explaining why `id` is not a `namespace/name` layer name. */
export function checkLayerName(id: string, where = 'SKIFF_CONFIG'): void {
  if (isLayerName(id)) return;
  let why: string;
  if (id === '') why = 'an empty layer name (two commas in a row?)';
  else if (id.startsWith('/')) why = `"${id}" is an absolute path, not a layer name`;
  else if (id.split('/').includes('..') || id.includes('..')) why = `"${id}" contains "..", which could escape the search path`;
  else if (id.split('/').length !== 2) why = `"${id}" is not of the form namespace/name`;
  else why = `"${id}" has characters outside [A-Za-z0-9_] (hyphens are not allowed upstream either)`;
  throw new SkiffError(
    `invalid layer name in ${where}: ${why}`,
    'name layers as namespace/name, e.g. pi/4 or skiff/core; `skiff layers` lists them',
  );
}

/** `odroid/xu4` → `SKIFF_CONFIG_PATH_ODROID_XU4`: the variable that presets a layer's folder. */
export function layerPathVariable(id: string): string {
  return `SKIFF_CONFIG_PATH_${id.toUpperCase().replace('/', '_')}`;
}

/** Splits a comma (or space) separated list of layer names, dropping blanks around commas. */
export function splitLayerList(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * A workspace name as upstream uses it: lower case `[a-z0-9._-]`. Upper case is folded;
 * a slash (a path) or any other character is refused rather than silently rewritten.
 */
export function workspaceName(raw: string | undefined): string {
  const name = (raw ?? '').trim() || 'default';
  const fix = 'use letters, digits, ".", "_" and "-" only, e.g. SKIFF_WORKSPACE=pi4-dev';
  if (name.includes('/') || name.includes('\\')) {
    throw new SkiffError(`invalid SKIFF_WORKSPACE "${name}": a workspace name cannot contain a slash`, fix);
  }
  const lower = name.toLowerCase();
  if (!/^[a-z0-9._-]+$/.test(lower) || lower === '.' || lower === '..') {
    throw new SkiffError(`invalid SKIFF_WORKSPACE "${name}"`, fix);
  }
  return lower;
}
