import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILE_ORDER } from '../support/suite-order.ts';
import { PROJECT } from '../support/tree.ts';

describe('the order of the integration and e2e files', () => {
  it('places every file once, so a new one is placed by its kernel, not run last by chance', () => {
    const files = ['test/integration', 'e2e'].flatMap((dir) =>
      fs
        .readdirSync(path.join(PROJECT, dir))
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => `${dir}/${f}`),
    );
    expect([...FILE_ORDER].sort()).toEqual(files.sort());
  });
});
