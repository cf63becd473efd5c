// User-supplied text shown in an error: a name from the environment or the command line may hold
// control characters (an ESC sequence rewrites the terminal, a CR hides what came before) or be
// hundreds of characters long. Every error quotes such text through `quoted`.

/** Control and invisible formatting characters (C0, DEL, C1, bidi overrides, zero-width marks). */
const HIDDEN = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };

function escapeChar(c: string): string {
  const code = c.codePointAt(0)!;
  return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`);
}

/** `s` with every control or invisible character written as an escape (`\n`, `\x07`, `\u{202e}`). */
export function printable(s: string): string {
  return s.replace(HIDDEN, escapeChar);
}

/** `s` in double quotes for one line of an error: escaped, and cut after `max` characters. */
export function quoted(s: string, max = 80): string {
  const chars = [...s];
  const cut = chars.length > max ? `${chars.slice(0, max).join('')}…` : s;
  const body = printable(cut.replace(/\\/g, '\\\\').replace(/"/g, '\\"'));
  return chars.length > max ? `"${body}" (${chars.length} characters)` : `"${body}"`;
}

/** A name or word as an error shows it: bare when plain (`--json`, `pi/4`), else `quoted`. */
export function shown(s: string, max = 60): string {
  return /^[\w.,/:=@+-]+$/.test(s) && s.length <= max ? s : quoted(s, max);
}

/** A message of several lines: each line kept, control characters inside lines escaped. */
export function printableLines(s: string): string {
  return s
    .split('\n')
    .map((line) => line.replace(HIDDEN, (c) => (c === '\t' ? c : escapeChar(c))))
    .join('\n');
}
