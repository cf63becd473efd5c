// Strict parsing of one command's arguments with node:util parseArgs: an unknown flag, a missing
// value or a stray word is an error naming it, with the nearest known spelling.
import { parseArgs } from 'node:util';
import { SkiffError } from '../lib/errors.ts';
import { shown } from '../lib/printable.ts';
import { didYouMean } from '../lib/suggest.ts';
import type { Command, Flags, FlagValues } from './command.ts';

export type Parsed<F extends Flags> = { help: true } | { help: false; flags: FlagValues<F>; positionals: string[] };

/** `-h`/`--help` anywhere before `--` asks for help, whatever else is on the line. */
export function asksForHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '-h' || a === '--help');
}

export function parseCommand<F extends Flags>(name: string, command: Command<F>, argv: string[]): Parsed<F> {
  if (asksForHelp(argv)) return { help: true };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: parseOptions(command), strict: true, allowPositionals: true, allowNegative: true });
  } catch (err) {
    throw explain(name, command, argv, err as Error & { code?: string });
  }
  for (const [k, v] of Object.entries(parsed.values)) {
    if (v === '') throw missingValue(name, command, k, '');
  }
  checkPositionals(name, command, parsed.positionals);
  return { help: false, flags: parsed.values as FlagValues<F>, positionals: parsed.positionals };
}

const parseOptions = (command: Command) => Object.fromEntries(Object.entries(command.flags).map(([k, f]) => [k, { type: f.type }]));

/** Every spelling a user may type for this command's flags. */
function spellings(command: Command): string[] {
  const out = ['--help', '-h'];
  for (const [k, f] of Object.entries(command.flags)) out.push(`--${k}`, ...(f.type === 'boolean' ? [`--no-${k}`] : []));
  return out;
}

function flagList(name: string, command: Command): string {
  const flags = Object.keys(command.flags).map((k) => `--${k}`);
  return flags.length > 0 ? `options of skiff ${name}: ${flags.join(', ')} (\`skiff ${name} --help\`)` : `skiff ${name} takes no options (\`skiff ${name} --help\`)`;
}

function missingValue(name: string, command: Command, flag: string, next: string | undefined): SkiffError {
  const f = command.flags[flag]!;
  const example = `e.g. \`skiff ${name} --${flag} ${f.example ?? f.value ?? 'VALUE'}\``;
  if (next?.startsWith('-')) {
    return new SkiffError(`--${flag} needs a value, but the next word is the option ${shown(next)}`, example);
  }
  return new SkiffError(`--${flag} needs a value (${f.value ?? 'VALUE'})`, example);
}

/** parseArgs's error, told again with the culprit, the command and a fix. */
function explain(name: string, command: Command, argv: string[], err: Error & { code?: string }): SkiffError {
  // The same line read leniently gives the tokens, with the one parseArgs stopped at.
  const { tokens } = parseArgs({ args: argv, options: parseOptions(command), strict: false, allowPositionals: true, allowNegative: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const flag = command.flags[t.name];
    const negated = t.rawName.startsWith('--no-');
    if (!flag || (negated && flag.type === 'string')) {
      if (negated && flag) return new SkiffError(`--${t.name} takes a value; there is no ${t.rawName}`, `leave --${t.name} out, ${flagList(name, command)}`);
      const near = didYouMean(t.rawName, spellings(command));
      return new SkiffError(`unknown option ${shown(t.rawName)} for skiff ${name}`, near ? `${near} ${flagList(name, command)}` : flagList(name, command));
    }
    if (flag.type === 'boolean' && t.inlineValue) {
      return new SkiffError(
        `--${t.name} is a switch and takes no value (got ${shown(`${t.rawName}=${t.value ?? ''}`)})`,
        `--${t.name} turns it on, --no-${t.name} turns it off`,
      );
    }
    if (flag.type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('-')))) return missingValue(name, command, t.name, t.value);
  }
  return new SkiffError(`skiff ${name}: ${err.message.split('\n')[0]}`, `\`skiff ${name} --help\` lists what it takes`);
}

function checkPositionals(name: string, command: Command, given: string[]): void {
  const declared = command.positionals ?? [];
  given.forEach((word, i) => {
    const misplaced = command.misplaced?.[word];
    if (misplaced) throw misplaced();
    const slot = declared[i];
    if (slot && (!slot.choices || slot.choices.includes(word))) return;
    // A word where a flag was meant (`skiff layers json`) or a choice mistyped.
    const known = [...(slot?.choices ?? []), ...Object.keys(command.flags).map((k) => `--${k}`)];
    const near = didYouMean(word, known) ?? didYouMean(`--${word}`, known);
    const what = slot ? `${shown(word)} is not one of: ${slot.choices!.join(', ')}` : `unexpected argument ${shown(word)}: skiff ${name} takes ${takes(declared)}`;
    throw new SkiffError(`skiff ${name}: ${what}`, near ?? `\`skiff ${name} --help\` shows what it takes`);
  });
  const missing = declared.slice(given.length).find((p) => p.required);
  if (missing) {
    throw new SkiffError(`skiff ${name} needs <${missing.name}>`, `e.g. \`skiff ${name} ${missing.example ?? missing.name}\`; \`skiff ${name} --help\` says more`);
  }
}

function takes(declared: readonly { name: string }[]): string {
  if (declared.length === 0) return 'no arguments';
  return `at most ${declared.length} (${declared.map((p) => p.name).join(', ')})`;
}
