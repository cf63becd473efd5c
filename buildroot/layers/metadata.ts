import fs from 'node:fs';
import path from 'node:path';
import type { Layer } from './discover.ts';
import { SkiffError } from '../../lib/errors.ts';
import { quoted } from '../../lib/printable.ts';
import { emptyConfig, fragmentFiles, mergeSettings, parseFragment, unquote } from './fragments.ts';
import { isLayerName, splitLayerList } from './names.ts';

export interface LayerCommand {
  name: string;
  description: string;
}

export interface LayerMeta {
  description: string;
  dependencies: string[];
  commands: LayerCommand[];
  unlisted: boolean;
}

/** A metadata file's text, undefined when it is absent; a folder in its place is an error. */
function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    const fix = `make ${file} a text file (see any layer under configs/), or remove it`;
    if (code === 'EISDIR') throw new SkiffError(`${file} is a folder, not a file`, fix);
    if (code === 'ENOTDIR') throw new SkiffError(`${path.dirname(file)} is a file, not a folder`, `make ${path.dirname(file)} a folder of metadata files, or remove it`);
    throw new SkiffError(`cannot read ${file}: ${code ?? String(err)}`, fix);
  }
}

const cache = new Map<string, LayerMeta>();

export function readMeta(layer: Layer): LayerMeta {
  const hit = cache.get(layer.dir);
  if (hit) return hit;
  const dir = path.join(layer.dir, 'metadata');
  const depsFile = path.join(dir, 'dependencies');
  const dependencies = splitLayerList(readText(depsFile) ?? '');
  for (const dep of dependencies) {
    if (!isLayerName(dep)) {
      throw new SkiffError(`${depsFile}: invalid dependency ${quoted(dep)} of layer ${layer.id}`, 'list layers as namespace/name separated by commas, e.g. pi/common,skiff/moduleimg');
    }
  }
  const meta: LayerMeta = {
    description: (readText(path.join(dir, 'description')) ?? '').trim().split('\n')[0] ?? '',
    dependencies,
    commands: parseCommands(readText(path.join(dir, 'commands')) ?? ''),
    unlisted: fs.existsSync(path.join(dir, 'unlisted')),
  };
  cache.set(layer.dir, meta);
  return meta;
}

/** `metadata/commands` lines are `name description`; a line without a description is skipped, as upstream. */
export function parseCommands(text: string): LayerCommand[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => /^(\S+)\s+(.+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!, description: m[2]! }));
}

const BR2_ARCH: [string, string][] = [
  ['BR2_aarch64', 'arm64'],
  ['BR2_arm', 'armhf'],
  ['BR2_x86_64', 'amd64'],
  ['BR2_i386', 'i386'],
  ['BR2_riscv', 'riscv64'],
];

/** The Debian architecture a layer targets, from its `debian/config` ARCH or its Buildroot arch symbols. */
export function layerArch(layer: Layer): string | undefined {
  const debian = emptyConfig('debian');
  for (const f of fragmentFiles(path.join(layer.dir, 'debian')).filter((f) => path.basename(f) === 'config')) {
    mergeSettings(debian, parseFragment(fs.readFileSync(f, 'utf8'), f, 'debian', layer.id, layer.dir));
  }
  const arch = unquote(debian.final.get('ARCH')?.value);
  if (arch) return arch;
  const br = emptyConfig('buildroot');
  for (const f of fragmentFiles(path.join(layer.dir, 'buildroot'))) {
    mergeSettings(br, parseFragment(fs.readFileSync(f, 'utf8'), f, 'buildroot', layer.id, layer.dir));
  }
  return BR2_ARCH.find(([sym]) => br.final.get(sym)?.value === 'y')?.[1];
}
