// The skiff dispatcher: global options, the command lookup, strict parsing of the command's own
// arguments, then the command. Every SkiffError ends here as two lines on stderr and exit 1.
import fs from 'node:fs';
import path from 'node:path';
import { type Context, contextFromEnv, PROJECT_DIR } from '../buildroot/layers/context.ts';
import { SkiffError } from '../lib/errors.ts';
import { didYouMean } from '../lib/suggest.ts';
import { parseCommand } from './parse.ts';
import { shown } from '../lib/printable.ts';
import { commandNames, findCommand } from './registry.ts';
import { commandHelp, overview } from './usage.ts';

const GLOBAL_OPTIONS = ['--help', '-h', '--version'];

/** Runs one command line; the environment is a parameter so tests can run it in-process. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await dispatch(argv, env);
  } catch (err) {
    if (err instanceof SkiffError) {
      process.stderr.write(`skiff: error: ${err.describe()}\n`);
      return 1;
    }
    throw err;
  }
}

async function dispatch(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [first = 'help', ...rest] = argv;
  if (first === '--help' || first === '-h') {
    if (rest.length === 0) return print(overview());
    return dispatch([rest[0]!, '--help', ...rest.slice(1)], env);
  }
  if (first === '--version') {
    if (rest.length > 0) throw new SkiffError(`--version takes no arguments (got ${shown(rest[0]!)})`, 'run `skiff --version` alone');
    return print(`skiff ${version()}\n`);
  }
  if (first.startsWith('-')) {
    const near = didYouMean(first, GLOBAL_OPTIONS);
    throw new SkiffError(
      `unknown option ${shown(first)} before the command`,
      `${near ? `${near} ` : ''}options before the command: ${GLOBAL_OPTIONS.join(', ')}; a command's own follow it, e.g. \`skiff layers --json\``,
    );
  }
  const entry = findCommand(first);
  if (!entry) {
    const near = didYouMean(first, commandNames());
    throw new SkiffError(`unknown command ${shown(first)}`, `${near ? `${near} ` : ''}commands: ${commandNames().join(', ')}; \`skiff --help\``);
  }
  const command = await entry.load();
  const args = parseCommand(entry.name, command, rest);
  if (args.help) return print(commandHelp(entry, command));
  let ctx: Context | undefined;
  return await command.run({ flags: args.flags, positionals: args.positionals, context: () => (ctx ??= contextFromEnv(env)) });
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

/** The version in package.json: one home for it. */
function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, 'package.json'), 'utf8')) as { version: string }).version;
}
