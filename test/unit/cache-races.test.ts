import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { withCacheLock } from '../../buildroot/debian/cachelock.ts';
import { PROJECT } from '../support/tree.ts';

const exec = promisify(execFile);

/** A tiny real .deb holding usr/share/probe/<name>. */
function makeDeb(dir: string, name: string): string {
  const root = path.join(dir, `${name}-root`);
  fs.mkdirSync(path.join(root, 'DEBIAN'), { recursive: true });
  fs.mkdirSync(path.join(root, 'usr/share/probe'), { recursive: true });
  fs.writeFileSync(path.join(root, 'DEBIAN/control'), `Package: ${name}\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: probe\n`);
  fs.writeFileSync(path.join(root, 'usr/share/probe', name), name);
  return root;
}

describe('the package cache, shared by builds running side by side', () => {
  it('lets several builds unpack the same packages at once, each getting whole folders', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-race-'));
    const names = Array.from({ length: 30 }, (_, i) => `probe${i}`);
    const debs = await Promise.all(
      names.map(async (n) => {
        const deb = path.join(dir, `${n}_1_all.deb`);
        await exec('dpkg-deb', ['--root-owner-group', '-b', makeDeb(dir, n), deb]);
        return deb;
      }),
    );
    const cache = path.join(dir, 'cache');
    // An unmarked folder, as an older cache layout left it: replaced, not trusted.
    fs.mkdirSync(path.join(cache, 'extracted', 'probe0_1_all'), { recursive: true });
    const worker = path.join(PROJECT, 'test/support/extract-worker.ts');
    const runs = Array.from({ length: 6 }, () =>
      exec(process.execPath, ['--import', 'tsx', worker, ...debs], { cwd: PROJECT, env: { ...process.env, SKIFF_CACHE_DIR: cache } }),
    );
    const results = await Promise.allSettled(runs);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(Array(6).fill('ok'));
    // Nothing half-done left beside the unpacked packages.
    expect(fs.readdirSync(path.join(cache, 'extracted')).sort()).toEqual(names.map((n) => `${n}_1_all`).sort());
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('does not take over a lock its holder has created and not yet written', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-lock-'));
    const target = path.join(dir, 'entry');
    fs.writeFileSync(`${target}.lock`, '');
    let ran = false;
    const waiting = withCacheLock(target, () => {}, async () => {
      ran = true;
    });
    await new Promise((r) => setTimeout(r, 1200));
    expect(ran).toBe(false);
    // The holder finishes: the waiter goes on.
    fs.rmSync(`${target}.lock`);
    await waiting;
    expect(ran).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
