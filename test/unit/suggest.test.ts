import { describe, expect, it } from 'vitest';
import { nearestNames } from '../../lib/suggest.ts';

describe('nearestNames', () => {
  it('suggests only near names for names without a namespace', () => {
    expect(nearestNames('serail', ['kind', 'serial', 'power', 'ssh'])).toEqual(['serial']);
    expect(nearestNames('bogus', ['boot', 'persist', 'hostname', 'power-loss', 'ssh-keys'])).toEqual([]);
  });

  it('still takes the same board in another namespace as near', () => {
    expect(nearestNames('rpi/4', ['pi/4', 'odroid/xu4'])).toEqual(['pi/4']);
  });
});
