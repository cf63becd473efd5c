// What a refused call threw, for tests that check an error names the culprit and the fix.
import { expect } from 'vitest';
import { SkiffError } from '../../lib/errors.ts';

/** The SkiffError `f` throws; fails the test when it returns or throws anything else. */
export function refusal(f: () => unknown): SkiffError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    return err as SkiffError;
  }
  throw new Error('expected a SkiffError');
}

/** The SkiffError that `work` (a promise, or a function returning one) rejects with. */
export async function asyncRefusal(work: Promise<unknown> | (() => unknown)): Promise<SkiffError> {
  const err = await Promise.resolve()
    .then(() => (typeof work === 'function' ? work() : work))
    .then(
      () => new Error('expected a SkiffError'),
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(SkiffError);
  return err as SkiffError;
}
