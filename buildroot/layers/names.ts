import { SkiffError } from '../../lib/errors.ts';
import { quoted } from '../../lib/printable.ts';

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
  const given = quoted(id);
  if (id === '') why = 'an empty layer name (two commas in a row?)';
  else if (id.startsWith('/')) why = `${given} is an absolute path, not a layer name`;
  else if (id.split('/').includes('..') || id.includes('..')) why = `${given} contains "..", which could escape the search path`;
  else if (id.split('/').length !== 2) why = `${given} is not of the form namespace/name`;
  else why = `${given} has characters outside [A-Za-z0-9_] (hyphens are not allowed upstream either)`;
  throw new SkiffError(
    `invalid layer name in ${where}: ${why}`,
    'name layers as namespace/name, e.g. pi/4 or skiff/core; `skiff layers` lists them',
  );
}

/** What every variable presetting a layer's folder starts with. */
export const PRESET_PREFIX = 'SKIFF_CONFIG_PATH_';

/** `odroid/xu4` → `SKIFF_CONFIG_PATH_ODROID_XU4`: the variable that presets a layer's folder. */
export function layerPathVariable(id: string): string {
  return `${PRESET_PREFIX}${id.toUpperCase().replace('/', '_')}`;
}

/** Splits a comma (or space) separated list of layer names, dropping blanks around commas. */
export function splitLayerList(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * One rule for a workspace name, checked before anything is written. Upstream SkiffOS
 * (scripts/check_workspace.sh) deletes every character outside [[:alnum:]._-] and folds the rest
 * to lower case, so its workspace folders are always named in [a-z0-9._-]. We refuse instead of
 * rewriting, so the name a user typed is the folder we use, and it is the folder upstream would
 * use: lower case, no leading dot or dash (hidden folders, names read as options), at most 64.
 */
const WORKSPACE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function workspaceName(raw: string | undefined): string {
  const name = (raw ?? '').trim() || 'default';
  if (WORKSPACE_NAME.test(name)) return name;
  const given = quoted(name, 40);
  const fix = 'name it with lower case letters, digits, ".", "_" and "-", starting with a letter or digit, e.g. SKIFF_WORKSPACE=pi4-dev';
  let why: string;
  if (name.includes('/') || name.includes('\\')) why = 'a workspace name cannot contain a slash';
  else if ([...name].length > 64) why = 'a workspace name has at most 64 characters';
  else if (name.startsWith('.')) why = 'it starts with "." (a hidden folder, or . and .. themselves)';
  else if (name.startsWith('-')) why = 'it starts with "-" (tools would read the folder name as an option)';
  else if (/^[A-Za-z0-9._-]+$/.test(name)) {
    // Upper case: upstream would use the lower case folder; say so rather than fold silently.
    throw new SkiffError(`invalid SKIFF_WORKSPACE ${given}: workspace names are lower case (upstream SkiffOS folds them)`, `use SKIFF_WORKSPACE=${name.toLowerCase()}`);
  } else why = 'it has characters outside a-z, 0-9, ".", "_" and "-"';
  throw new SkiffError(`invalid SKIFF_WORKSPACE ${given}: ${why}`, fix);
}
