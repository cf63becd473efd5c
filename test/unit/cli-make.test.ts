// The Makefile: SkiffOS's `make <command>` habit, forwarded to the CLI with the same environment.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/registry.ts';
import { skiffHere } from '../support/in-process.ts';
import { layer, PROJECT, scratchRoot } from '../support/tree.ts';

function fixture() {
  return scratchRoot({
    ...layer('board/common', { description: 'shared board bits\n' }),
    ...layer('board/one', {
      deps: 'board/common',
      description: 'the first board\n',
      files: {
        'buildroot/arch': 'BR2_arm=y\n',
        'metadata/commands': 'hello Says hello with the workspace environment.\nwhere Prints the layer folder.\n',
        'extensions/Makefile': 'hello:\n\t@echo "hello from $$SKIFF_WORKSPACE chain=$$SKIFF_CONFIG"\nwhere:\n\t@echo "$$SKIFF_CURRENT_CONF_DIR"\n',
      },
    }),
  });
}

describe('the Makefile', () => {
  const make = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync('make', ['--no-print-directory', '-f', path.join(PROJECT, 'Makefile'), ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      encoding: 'utf8',
      cwd: PROJECT,
    });

  it('forwards make, configure, compile, cmd/ and br/ to the CLI with the same environment', async () => {
    const root = fixture();
    expect(make([], { SKIFF_ROOT_DIR: root }).stdout).toBe((await skiffHere([], { SKIFF_ROOT_DIR: root })).stdout);
    const conf = make(['configure'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one', SKIFF_WORKSPACE: 'mk' });
    expect(conf.status).toBe(0);
    expect(fs.readFileSync(path.join(root, 'workspaces/mk/skiff_config'), 'utf8')).toBe('board/common,board/one\n');
    const cmd = make(['cmd/board/one/hello'], { SKIFF_ROOT_DIR: root, SKIFF_WORKSPACE: 'mk' });
    expect(cmd.stdout).toBe('hello from mk chain=board/common,board/one\n');
    const where = make(['cmd/board/one/where'], { SKIFF_ROOT_DIR: root, SKIFF_WORKSPACE: 'mk' });
    expect(where.stdout.trim()).toBe(path.join(root, 'configs/board/one'));
    const br = make(['br/menuconfig'], { SKIFF_ROOT_DIR: root, SKIFF_WORKSPACE: 'mk' });
    expect(br.status).not.toBe(0);
    expect(br.stderr).toContain('there is no Buildroot in this project');
  });

  it('forwards every skiff command, with its options from ARGS on make\'s command line only', () => {
    // A dry run prints what make would run: the mapping itself, without starting Node per goal.
    const skiffJs = path.join(PROJECT, 'bin/skiff.js');
    const names = COMMANDS.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['doctor', 'lock', 'test', 'boards', 'layers', 'resolve', 'configure', 'compile', 'help']));
    const dry = make(['-n', ...names, 'cmd/virt/qemu/run', 'br/menuconfig'], {});
    expect(dry.status).toBe(0);
    const lines = (out: string) => out.trim().split('\n').map((l) => l.trimEnd());
    expect(lines(dry.stdout)).toEqual([...names.map((n) => `node ${skiffJs} ${n}`), `node ${skiffJs} cmd virt/qemu/run`, `node ${skiffJs} br menuconfig`]);
    expect(lines(make(['-n', 'test', 'ARGS=--target v86 --scenario boot'], {}).stdout)).toEqual([`node ${skiffJs} test --target v86 --scenario boot`]);
    // An ARGS exported for something else is not skiff's.
    expect(lines(make(['-n', 'layers'], { ARGS: '--json' }).stdout)).toEqual([`node ${skiffJs} layers`]);
  });

  it('runs a forwarded command for real, and passes an unknown goal to the CLI for its "did you mean"', async () => {
    const root = fixture();
    const doctor = make(['doctor'], { SKIFF_ROOT_DIR: root });
    expect(doctor.stdout).toMatch(/^Host tools for any build:\n/);
    expect(doctor.stdout).toBe((await skiffHere(['doctor'], { SKIFF_ROOT_DIR: root })).stdout);
    const typo = make(['lyaers'], { SKIFF_ROOT_DIR: root });
    expect(typo.status).not.toBe(0);
    expect(typo.stderr).toContain('skiff: error: unknown command lyaers\n  fix: did you mean layers?');
  });
});
