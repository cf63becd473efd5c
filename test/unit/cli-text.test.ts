// The small text helpers every error goes through: escaping, quoting, "did you mean".
import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../lib/errors.ts';
import { printable, quoted, shown } from '../../lib/printable.ts';
import { didYouMean, nearestNames } from '../../lib/suggest.ts';

describe('user text in errors', () => {
  it('escapes control and invisible characters, quotes and cuts long text', () => {
    expect(printable('a\x1b[2Jb\x07c\rd\te\nf\x7f\u0085\u202eg\u200bh')).toBe('a\\e[2Jb\\x07c\\rd\\te\\nf\\x7f\\x85\\u{202e}g\\u{200b}h');
    expect(quoted('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(quoted('x'.repeat(100), 10)).toBe(`"${'x'.repeat(10)}…" (100 characters)`);
    expect(shown('--json')).toBe('--json');
    expect(shown('pi/4')).toBe('pi/4');
    expect(shown('a b')).toBe('"a b"');
    expect(shown('')).toBe('""');
  });

  it('keeps the lines and tabs of a message but escapes what would rewrite the terminal', () => {
    const err = new SkiffError('make failed:\n    step\t1\x1b[2K\r', 'fix \x07it');
    expect(err.describe()).toBe('make failed:\n    step\t1\\e[2K\\r\n  fix: fix \\x07it');
  });
});

describe('did you mean', () => {
  it('suggests near names only: a command or flag far from every known one gets none', () => {
    const commands = ['help', 'layers', 'boards', 'configure', 'resolve', 'compile', 'doctor', 'lock', 'cmd', 'test', 'br'];
    expect(nearestNames('lyaers', commands)).toEqual(['layers']);
    expect(nearestNames('frobnicate', commands)).toEqual([]);
    expect(nearestNames('--scenrio', ['--target', '--scenario', '--scenarios', '--lab'])).toEqual(['--scenario', '--scenarios']);
    expect(didYouMean('xyzzy', commands)).toBeUndefined();
    expect(didYouMean('tset', commands)).toBe('did you mean test?');
  });

  it('still takes the same board in another namespace as a hint for layers', () => {
    expect(nearestNames('rpi/4', ['pi/4', 'pi/3', 'odroid/xu4'])).toEqual(['pi/4', 'pi/3']);
    expect(nearestNames('raspberry/4', ['pi/4', 'virt/qemu'])).toEqual(['pi/4']);
  });
});
