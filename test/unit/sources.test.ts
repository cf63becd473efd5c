// Which Debian archives target packages come from: the host's, or a layer's DEBIAN_SUITE from the same archives.
import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../lib/errors.ts';
import { debianSources } from '../../buildroot/debian/sources.ts';

describe('debian sources', () => {
  it('takes the host release by default and a layer\'s DEBIAN_SUITE from the same mirror', () => {
    const env = { SKIFF_DEBIAN_MIRROR: 'http://mirror.example/debian' };
    const host = debianSources(env);
    expect(host.map((s) => s.uri)).toEqual(['http://mirror.example/debian', 'http://mirror.example/debian']);
    expect(debianSources(env, 'trixie').map((s) => s.suite)).toEqual(['trixie', 'trixie-updates']);
  });

  it('keeps the host\'s archives (security included) and swaps only the release name', () => {
    const host = debianSources({});
    const trixie = debianSources({}, 'trixie');
    expect(trixie.map((s) => s.uri)).toEqual(host.map((s) => s.uri));
    expect(trixie.every((s) => s.suite === 'trixie' || s.suite.startsWith('trixie-'))).toBe(true);
    expect(trixie.map((s) => s.suite.replace(/^trixie/, ''))).toEqual(host.map((s) => s.suite.replace(/^[a-z]+/, '')));
  });

  it('refuses a suite that is not a codename', () => {
    let err: unknown;
    try {
      debianSources({}, 'trixie main');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).message).toBe('DEBIAN_SUITE=trixie main is not a Debian release codename');
  });
});
