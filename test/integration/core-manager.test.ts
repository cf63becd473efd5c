import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { archInfo } from '../../buildroot/debian/arch.ts';
import { buildCoreManager } from '../../buildroot/debian/core.ts';
import { readElf } from '../../buildroot/debian/elf.ts';
import { Progress } from '../../buildroot/debian/progress.ts';
import { PROJECT, tempDir } from '../support/tree.ts';

// The Skiff Core manager: built with Debian's Go for every architecture the backend supports, and
// its config checker run for real (the host is amd64) on good and broken config.yaml files.
const source = path.join(PROJECT, 'configs/skiff/core/resources/skiff-core');
const ctx = { rootDir: PROJECT, env: { ...process.env, SKIFF_CACHE_DIR: path.join(PROJECT, '.cache') }, workspace: 'default' };
const quiet = new Progress(1, () => {});

describe('skiff-core, the manager', () => {
  it('builds statically for every architecture the debian backend supports', async () => {
    for (const arch of ['amd64', 'i386', 'arm64', 'armhf', 'armel', 'riscv64']) {
      const info = archInfo(arch);
      const bin = await buildCoreManager(ctx, source, info, quiet);
      const elf = readElf(bin);
      expect(elf?.machine, arch).toBe(info.elfMachine);
      // Static: it runs on the host's busybox userland whatever libc the image has.
      expect(elf?.interpreter, arch).toBeFalsy();
      expect(elf?.needed ?? [], arch).toEqual([]);
    }
  }, 600_000);

  it('checks config.yaml and names the file, line and key of each mistake', async () => {
    const bin = await buildCoreManager(ctx, source, archInfo('amd64'), quiet);
    const dir = tempDir();
    const check = (name: string, text: string) => {
      fs.writeFileSync(path.join(dir, name), text);
      const r = spawnSync(bin, ['check', path.join(dir, name)], { encoding: 'utf8' });
      return { status: r.status, out: r.stdout + r.stderr };
    };
    const good = check('good.yaml', fs.readFileSync(path.join(PROJECT, 'configs/skiff/core/root_overlay/opt/skiff/core/config.yaml'), 'utf8'));
    expect(good.out).toContain('1 containers, 1 users, 1 images, no mistakes');
    expect(good.status).toBe(0);

    const bad = check(
      'bad.yaml',
      ['containers:', '  a:', '    image: x', '    privilegd: true', 'users:', '  alice:', '    container: a', '    auth:', '      pasword: p', '  bob:', '    container: nowhere', '  carol:', '    container: a', 'extra: 1', ''].join('\n'),
    );
    expect(bad.status).toBe(1);
    expect(bad.out).toContain(`${dir}/bad.yaml:4: containers.a.privilegd: unknown key`);
    expect(bad.out).toContain(`${dir}/bad.yaml:9: users.alice.auth.pasword: unknown key`);
    expect(bad.out).toContain(`${dir}/bad.yaml:11: users.bob.container: no working container "nowhere"`);
    expect(bad.out).toContain(`${dir}/bad.yaml:14: extra: unknown key`);
    // A broken container takes its users with it, and names them.
    expect(bad.out).toContain(`${dir}/bad.yaml:13: users.carol.container: no working container "a"`);

    const syntax = check('syntax.yaml', 'containers:\n  a: [\n');
    expect(syntax.status).toBe(1);
    expect(syntax.out).toMatch(/syntax\.yaml:\d+: \(file\): not valid YAML/);

    const missing = spawnSync(bin, ['check', path.join(dir, 'absent.yaml')], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('absent.yaml');
  }, 300_000);
});
