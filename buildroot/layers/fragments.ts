import fs from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../../lib/errors.ts';

/** The kinds of key=value fragment a layer can carry, each with the folder it lives in. */
export const FRAGMENT_KINDS = ['buildroot', 'kernel', 'busybox', 'uboot', 'debian'] as const;
export type FragmentKind = (typeof FRAGMENT_KINDS)[number];

const PREFIX: Record<FragmentKind, string> = {
  buildroot: 'BR2_',
  kernel: 'CONFIG_',
  busybox: 'CONFIG_',
  uboot: 'CONFIG_',
  debian: '',
};

/** One symbol assignment, with where it came from. `value: null` is `# SYM is not set`. */
export interface Setting {
  symbol: string;
  value: string | null;
  layer: string;
  file: string;
  line: number;
}

export interface MergedConfig {
  kind: FragmentKind;
  /** The final assignment of each symbol, in merge_config.sh order (a redefined symbol moves to the end). */
  final: Map<string, Setting>;
  /** Every assignment of each symbol, oldest first, so `--explain` can say what was overridden. */
  history: Map<string, Setting[]>;
}

/** Parses one fragment file. `root` replaces the literal SKIFF_CONFIG_ROOT (the layer's own folder). */
export function parseFragment(text: string, file: string, kind: FragmentKind, layer: string, root: string): Setting[] {
  const prefix = PREFIX[kind];
  const name = kind === 'debian' ? '[A-Z][A-Z0-9_]*' : `${prefix}[A-Za-z0-9_]+`;
  const assign = new RegExp(`^(${name})=(.*)$`);
  const unset = new RegExp(`^#\\s*(${name}) is not set$`);
  const settings: Setting[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '') return;
    const off = unset.exec(line);
    if (off) {
      settings.push({ symbol: off[1]!, value: null, layer, file, line: i + 1 });
      return;
    }
    if (line.startsWith('#')) return;
    const on = assign.exec(line);
    if (!on || !balancedQuotes(on[2]!)) {
      const expected = kind === 'debian' ? 'KEY=value' : `${prefix}NAME=value or "# ${prefix}NAME is not set"`;
      throw new SkiffError(
        `${file}:${i + 1}: malformed ${kind} fragment line: ${JSON.stringify(line)}`,
        `write it as ${expected} (comments start with "#")`,
      );
    }
    settings.push({ symbol: on[1]!, value: on[2]!.split('SKIFF_CONFIG_ROOT').join(root), layer, file, line: i + 1 });
  });
  return settings;
}

function balancedQuotes(value: string): boolean {
  if (!value.startsWith('"')) return !value.includes('"');
  return /^"(?:[^"\\]|\\.)*"$/.test(value);
}

/** Regular files of a fragment folder in byte-lexicographic order (hidden files skipped). */
export function fragmentFiles(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => !e.name.startsWith('.') && (e.isFile() || (e.isSymbolicLink() && fs.statSync(path.join(dir, e.name)).isFile())))
    .map((e) => e.name)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((n) => path.join(dir, n));
}

export function emptyConfig(kind: FragmentKind): MergedConfig {
  return { kind, final: new Map(), history: new Map() };
}

/** Applies assignments in order: the later value of a symbol wins and moves to the end. */
export function mergeSettings(into: MergedConfig, settings: Setting[]): void {
  for (const s of settings) {
    into.final.delete(s.symbol);
    into.final.set(s.symbol, s);
    const h = into.history.get(s.symbol);
    if (h) h.push(s);
    else into.history.set(s.symbol, [s]);
  }
}

export function renderSetting(s: { symbol: string; value: string | null }): string {
  return s.value === null ? `# ${s.symbol} is not set` : `${s.symbol}=${s.value}`;
}

export function renderConfig(config: MergedConfig): string {
  return [...config.final.values()].map(renderSetting).join('\n') + (config.final.size > 0 ? '\n' : '');
}

/** A value with Kconfig's surrounding quotes removed (for reading settings, not for writing them). */
export function unquote(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) return value.slice(1, -1).replace(/\\(.)/g, '$1');
  return value;
}
