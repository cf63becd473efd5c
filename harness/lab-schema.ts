// The lab file's schema: every key it takes, what each holds, and how to fix a bad value. Strict:
// an unknown key is a typo until proven otherwise, so it is refused with the nearest known key.
import { z } from 'zod';
import { quoted } from '../lib/printable.ts';
import { didYouMean } from '../lib/suggest.ts';
import { EMULATOR_KINDS } from './targets/kinds.ts';

/** The baud rates a USB serial adapter and the kernel agree on. */
export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000, 1500000, 3000000];

/** How a key's bad value is told: what it expects (or a sentence of its own), and the fix. */
interface About {
  expected: string;
  fix: string;
  bad?: (got: string) => string;
}
const about = z.registry<About>();

/** A whole number, written as a number or as a quoted one ("115200"). */
const wholeNumber = z.union([z.int(), z.string().trim().regex(/^\d+$/).transform(Number)]);

const command = (which: 'on' | 'off') =>
  z.string().min(1).register(about, { expected: 'a shell command', fix: `a shell command that switches the board's power ${which}, e.g. uhubctl -l 1-1 -p 2 -a ${which}` });

const deployHow = (kinds: readonly string[], fix: string) =>
  z.enum(kinds as [string, ...string[]]).default('none').register(about, { expected: kinds.join(', '), bad: (got) => `unknown way to deploy ${got} (accepted: ${kinds.join(', ')})`, fix });

const sdCommand = (what: string, example: string) => z.string().min(1).register(about, { expected: 'a shell command', fix: `a shell command that ${what}, e.g. ${example}` });

const serialTarget = z.strictObject({
  kind: z.literal('serial'),
  serial: z
    .strictObject({
      device: z.string().min(1).register(about, { expected: 'a path', fix: "the tty of the board's serial console, e.g. /dev/ttyUSB0 (relative paths are from the lab file's folder)" }),
      baud: wholeNumber
        .refine((n) => BAUD_RATES.includes(n))
        .default(115200)
        .register(about, {
          expected: 'a baud rate',
          bad: (got) => `bad baud rate ${got} (accepted: ${BAUD_RATES.join(', ')})`,
          fix: "the speed of the board's console, e.g. 115200 for a Raspberry Pi",
        }),
    })
    .register(about, { expected: 'a mapping', fix: 'give it device: (and baud:, 115200 by default)' }),
  power: z
    .strictObject({ on: command('on'), off: command('off') })
    .register(about, { expected: 'a mapping', fix: "give it on: and off:, the shell commands that switch the board's power" }),
  ssh: z
    .strictObject({
      host: z.string().min(1).register(about, { expected: 'a host name or address', fix: "the board's address, e.g. 192.168.1.50" }),
      port: wholeNumber
        .refine((n) => n >= 1 && n <= 65535)
        .default(22)
        .register(about, { expected: 'a port number (1-65535)', fix: "the port of the board's SSH server (22 by default)" }),
      key: z.string().min(1).optional().register(about, { expected: 'a path', fix: "a private key file, e.g. ~/.ssh/id_ed25519 (relative paths are from the lab file's folder)" }),
    })
    .optional()
    .register(about, { expected: 'a mapping', fix: 'give it host: (port: and key: are optional), or remove ssh:' }),
  deploy: deployHow(
    ['ssh', 'sd', 'none'],
    "how `skiff test --deploy` puts a build on the board: ssh (skiff push over ssh:), sd (the card through sd_card:'s commands) or none (the default)",
  ),
  sd_card: z
    .strictObject({
      to_host: sdCommand("connects the board's card to this machine (an SD multiplexer, a USB mass-storage gadget)", 'sd-mux-ctrl -e 0 -s'),
      to_board: sdCommand('gives the card back to the board', 'sd-mux-ctrl -e 0 -d'),
      device: z.string().min(1).register(about, { expected: 'a path', fix: 'the block device the card appears as on this machine, e.g. /dev/disk/by-id/usb-SD_MUX_…' }),
    })
    .optional()
    .register(about, { expected: 'a mapping', fix: 'give it to_host:, to_board: and device:, or remove sd_card:' }),
});

const emulatorTarget = z.strictObject({
  kind: z.enum(EMULATOR_KINDS),
  image: z.string().min(1).register(about, { expected: 'a path', fix: "the images/out/<workspace> folder of a build for this target (relative paths are from the lab file's folder)" }),
  // An emulator's card is a file the harness copies: nothing to write through an SD multiplexer.
  deploy: deployHow(['ssh', 'none'], "ssh (skiff push through QEMU's forwarded port) or none (the default)"),
});

const target = z.discriminatedUnion('kind', [serialTarget, emulatorTarget]).register(about, { expected: 'a mapping', fix: 'give it kind: and its settings, as the README\'s "A lab file" shows' });

const scenarioFiles = { expected: 'a list of module paths', fix: 'list modules that export scenarios, e.g. scenarios: [tests/my-board.mts]' };

export const labSchema = z
  .strictObject({
    targets: z.record(z.string(), target).register(about, { expected: 'a mapping of target names to targets', fix: 'name each target under targets:, e.g. targets: { my-pi4: { kind: serial, ... } }' }),
    scenarios: z.array(z.string().min(1).register(about, { ...scenarioFiles, expected: 'a path' })).optional().register(about, scenarioFiles),
  })
  .register(about, { expected: 'a mapping', fix: 'start the file with targets:, as the README\'s "A lab file" shows' });

/** `targets.my-pi4.serial.baud`, `scenarios[0]`; `top level` for the file itself. */
function keyPath(at: readonly PropertyKey[]): string {
  const text = at.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i > 0 ? '.' : ''}${String(k)}`)).join('');
  return text || 'top level';
}

/** The schema declared for the key at `at`, wrappers and all, following the kind each target names. */
function declaredAt(at: readonly PropertyKey[], data: unknown): z.ZodType | undefined {
  let s: z.ZodType | undefined = labSchema;
  let value = data;
  for (const key of at) {
    const inner: z.ZodType | undefined = s && unwrap(s, value);
    if (inner instanceof z.ZodObject) s = inner.shape[String(key)] as z.ZodType | undefined;
    else if (inner instanceof z.ZodRecord) s = inner.valueType as z.ZodType;
    else if (inner instanceof z.ZodArray) s = inner.element as z.ZodType;
    else s = undefined;
    value = valueAt([key], value);
  }
  return s;
}

/** One layer in: through an optional, default or pipe wrapper, or to the union member `value`'s kind selects. */
function peel(s: z.ZodType, value: unknown): z.ZodType | undefined {
  if (s instanceof z.ZodOptional || s instanceof z.ZodDefault) return s.unwrap() as z.ZodType;
  if (s instanceof z.ZodPipe) return s.in as z.ZodType;
  if (s instanceof z.ZodDiscriminatedUnion) {
    const kind = (value as { kind?: unknown } | null)?.kind;
    return (s.options as z.ZodType[]).find((o) => o instanceof z.ZodObject && o.shape.kind?.safeParse(kind).success);
  }
  return undefined;
}

function unwrap(s: z.ZodType, value: unknown): z.ZodType {
  for (let inner = peel(s, value); inner; inner = peel(s, value)) s = inner;
  return s;
}

/** What the schema says about the key at `at`: the first description found through its wrappers. */
function aboutAt(at: readonly PropertyKey[], data: unknown): About | undefined {
  const value = valueAt(at, data);
  for (let s = declaredAt(at, data); s; s = peel(s, value)) {
    const found = about.get(s);
    if (found) return found;
  }
  return undefined;
}

function valueAt(at: readonly PropertyKey[], data: unknown): unknown {
  return at.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), data);
}

function unknownKey(at: readonly PropertyKey[], wrong: string, known: string[]): { key: string; what: string; fix: string } {
  const near = didYouMean(wrong, known);
  const takes = `${at.length > 0 ? keyPath(at) : 'the top level'} takes ${known.join(', ')}`;
  return { key: keyPath([...at, wrong]), what: 'unknown key', fix: near ? `${near} ${takes}` : takes };
}

/** A YAML value as a user would recognise it in an error message. */
function shown(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v && typeof v === 'object') return 'a mapping';
  return typeof v === 'string' ? quoted(v) : String(v);
}

/**
 * The first problem the schema found in `data`, as the key at fault, what is wrong, and the fix.
 * An unknown key comes first: a misspelt `serail:` also leaves `serial:` missing, and the typo is the news.
 */
export function explain(issues: readonly z.core.$ZodIssue[], data: unknown): { key: string; what: string; fix: string } {
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const declared = declaredAt(issue.path, data);
    const parent = declared && unwrap(declared, valueAt(issue.path, data));
    return unknownKey(issue.path, issue.keys[0]!, parent instanceof z.ZodObject ? Object.keys(parent.shape) : []);
  }
  const value = valueAt(issue.path, data);
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator) {
    const kinds = (issue as { options?: unknown[] }).options ?? [];
    // No kind: but a misspelt `knd:` is the better news; checked against every kind's keys.
    const targetAt = issue.path.slice(0, -1);
    const known = target.options.flatMap((o) => Object.keys(o.shape)).filter((k, i, all) => all.indexOf(k) === i);
    const stray = Object.keys((valueAt(targetAt, data) as object | null) ?? {}).find((k) => !known.includes(k));
    if (value === undefined && stray !== undefined) return unknownKey(targetAt, stray, known);
    return { key: keyPath(issue.path), what: value === undefined ? 'missing' : value === null ? 'is empty' : `unknown kind ${shown(value)}`, fix: `kind is one of ${kinds.join(', ')}` };
  }
  const told = aboutAt(issue.path, data) ?? { expected: 'something else', fix: 'see the README\'s "A lab file"' };
  const what = value === undefined ? 'missing' : value === null ? 'is empty' : told.bad ? told.bad(shown(value)) : `expected ${told.expected}, got ${shown(value)}`;
  return { key: keyPath(issue.path), what, fix: told.fix };
}
