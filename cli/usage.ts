// Help text, generated from the command declarations and the registry.
import type { Command } from './command.ts';
import { COMMANDS, type CommandEntry } from './registry.ts';

/** The generated usage line: `skiff resolve [--json] [--explain SYMBOL]`. */
export function usageLine(name: string, command: Command): string {
  const words = [`skiff ${name}`];
  for (const p of command.positionals ?? []) words.push(p.required ? `<${p.name}>` : `[${p.name}]`);
  for (const [k, f] of Object.entries(command.flags)) words.push(f.type === 'boolean' ? `[--${k}]` : `[--${k} ${f.value ?? 'VALUE'}]`);
  return words.join(' ');
}

/** `skiff <command> --help`. */
export function commandHelp(entry: CommandEntry, command: Command): string {
  const out = [...(command.usage ?? [usageLine(entry.name, command)])];
  out.push(...command.description.split('\n').map((l) => `  ${l}`));
  const rows: [string, string][] = [
    ...(command.positionals ?? []).map((p): [string, string] => [p.required ? `<${p.name}>` : `[${p.name}]`, p.help]),
    ...Object.entries(command.flags).map(([k, f]): [string, string] => [f.type === 'boolean' ? `--${k}` : `--${k} ${f.value ?? 'VALUE'}`, f.help]),
    ['-h, --help', 'this help'],
  ];
  out.push('', ...table(rows));
  return out.join('\n') + '\n';
}

/** The commands with one line each, for `skiff --help` and `skiff help`. */
export function commandTable(): string[] {
  return ['Commands (`skiff <command> --help` for its options):', ...table(COMMANDS.map((c) => [c.name, c.summary]))];
}

/** `skiff --help`: what the CLI takes, without looking at layers or the environment. */
export function overview(): string {
  return [
    'usage: skiff <command> [options]        (no command: the same as `skiff help`)',
    '',
    ...commandTable(),
    '',
    'Options: -h, --help (this help, or a command\'s after it); --version.',
    'Switches take no value: --json turns one on, --no-json turns it off.',
    'The Makefile forwards `make <command>` with the same environment, as SkiffOS does: make configure compile,',
    'make cmd/<ns>/<layer>/<command>; options go in ARGS, e.g. make test ARGS="--target v86".',
    'Environment: SKIFF_CONFIG, SKIFF_WORKSPACE, SKIFF_EXTRA_CONFIGS_PATH, SKIFF_CONFIG_PATH_<NS>_<NAME>,',
    'SKIFF_CACHE_DIR, SKIFF_DEBIAN_MIRROR, SOURCE_DATE_EPOCH (see the README).',
  ].join('\n') + '\n';
}

function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length)) + 3;
  return rows.map(([k, v]) => `  ${k.padEnd(width)}${v}`);
}
