// What a command is: its flags and positionals, declared once; the parser checks argv against
// them and the help text is generated from them (cli/usage.ts).
import type { Context } from '../buildroot/layers/context.ts';
import type { SkiffError } from '../lib/errors.ts';

export interface Flag {
  /** A boolean is a switch (`--json`, off with `--no-json`); a string takes a value (`--explain SYMBOL`). */
  type: 'boolean' | 'string';
  help: string;
  /** A string flag's placeholder in usage lines, e.g. SYMBOL. */
  value?: string;
  /** A value that fits, for the error when it is missing, e.g. CONFIG_SERIAL_8250. */
  example?: string;
}

export type Flags = Record<string, Flag>;

export type FlagValues<F extends Flags> = { [K in keyof F]?: F[K]['type'] extends 'boolean' ? boolean : string };

export interface Positional {
  name: string;
  help: string;
  required?: boolean;
  /** The only words accepted here. */
  choices?: readonly string[];
  /** A value that fits, for the error when it is missing. */
  example?: string;
}

export interface RunArgs<F extends Flags> {
  flags: FlagValues<F>;
  positionals: string[];
  /** The checked environment; made on first use, so `skiff br` and help need no valid one. */
  context(): Context;
}

export interface Command<F extends Flags = Flags> {
  /** Usage lines replacing the generated one, when one line cannot say it. */
  usage?: string[];
  /** What the command does, for `skiff <command> --help`. */
  description: string;
  flags: F;
  positionals?: Positional[];
  /** Words users put here by mistake (`skiff compile configure`), refused with what to do instead. */
  misplaced?: Record<string, () => SkiffError>;
  run(args: RunArgs<F>): number | Promise<number>;
}

/** Declares a command, keeping the flag names' types for `run`. */
export function defineCommand<F extends Flags>(command: Command<F>): Command<F> {
  return command;
}
