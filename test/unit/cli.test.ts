import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { skiffHere } from '../support/in-process.ts';
import { layer, scratchRoot, skiff } from '../support/tree.ts';

function fixture() {
  return scratchRoot({
    ...layer('skiff/base', { description: 'base system\n', files: { 'kernel/base': 'CONFIG_PRINTK=y\n', 'buildroot/k': 'BR2_LINUX_KERNEL_DEFCONFIG="tiny"\n' } }),
    ...layer('board/common', { description: 'shared board bits\n', files: { 'buildroot/k': 'BR2_LINUX_KERNEL_DEFCONFIG="multi_v7"\n' } }),
    ...layer('board/one', {
      deps: 'board/common',
      description: 'the first board\n',
      files: {
        'buildroot/arch': 'BR2_arm=y\n',
        'buildroot/kernel': 'BR2_LINUX_KERNEL_DEFCONFIG="one"\n',
        'metadata/commands': 'hello Says hello with the workspace environment.\nwhere Prints the layer folder.\nfail Fails as a broken command does.\n',
        'extensions/Makefile':
          'hello:\n\t@echo "hello from $$SKIFF_WORKSPACE chain=$$SKIFF_CONFIG"\nwhere:\n\t@echo "$$SKIFF_CURRENT_CONF_DIR"\n' +
          'fail:\n\t@echo "working on it"; for i in 1 2 3 4 5 6 7 8; do echo "noise $$i" >&2; done; echo "disk \x1b[31mfull" >&2; exit 3\n',
      },
    }),
    ...layer('board/two', { description: 'the second board\n', files: { 'debian/config': 'ARCH=arm64\n' } }),
    ...layer('util/hidden', { description: 'a helper layer\n', unlisted: true }),
  });
}

describe('skiff CLI', () => {
  it('shows workspace, every listed layer grouped by namespace, and hides unlisted ones', async () => {
    const root = fixture();
    const r = await skiffHere([], { SKIFF_ROOT_DIR: root });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('workspace "default"');
    expect(r.stdout).toContain('Selected configuration: none');
    expect(r.stdout).toMatch(/ {2}board:\n {4}board\/common +shared board bits\n {4}board\/one +the first board/);
    expect(r.stdout).not.toContain('util/hidden');
    const sel = await skiffHere(['help'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one' });
    expect(sel.stdout).toContain('Selected configuration (from SKIFF_CONFIG): board/common,board/one');
    expect(sel.stdout).toMatch(/make cmd\/board\/one\/hello +Says hello/);
  });

  it('lists layers as JSON with unlisted ones flagged and the architecture they set', async () => {
    const root = fixture();
    const r = await skiffHere(['layers', '--json'], { SKIFF_ROOT_DIR: root });
    const layers = JSON.parse(r.stdout) as { id: string; unlisted: boolean; arch?: string; dependencies: string[] }[];
    expect(layers.map((l) => l.id)).toEqual(['board/common', 'board/one', 'board/two', 'skiff/base', 'util/hidden']);
    expect(layers.find((l) => l.id === 'util/hidden')!.unlisted).toBe(true);
    expect(layers.find((l) => l.id === 'board/one')).toMatchObject({ arch: 'armhf', dependencies: ['board/common'] });
    expect(layers.find((l) => l.id === 'board/two')!.arch).toBe('arm64');
    expect((await skiffHere(['layers'], { SKIFF_ROOT_DIR: root })).stdout).not.toContain('util/hidden');
  });

  it('uses an unlisted layer when asked for it', async () => {
    const root = fixture();
    const r = await skiffHere(['resolve', '--json'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'util/hidden' });
    expect(JSON.parse(r.stdout).chain).toEqual(['util/hidden']);
  });

  it('remembers the configuration in the workspace across invocations, and says when it is replaced', async () => {
    const root = fixture();
    const conf = await skiffHere(['configure'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one' });
    expect(conf.code).toBe(0);
    const ws = path.join(root, 'workspaces/default');
    expect(fs.readFileSync(path.join(ws, 'skiff_config'), 'utf8')).toBe('board/common,board/one\n');
    expect(fs.readFileSync(path.join(ws, 'config/buildroot.config'), 'utf8')).toContain('BR2_LINUX_KERNEL_DEFCONFIG="one"');
    expect(fs.readFileSync(path.join(ws, 'config/kernel.config'), 'utf8')).toBe('CONFIG_PRINTK=y\n');

    const later = await skiffHere(['resolve', '--json'], { SKIFF_ROOT_DIR: root });
    expect(JSON.parse(later.stdout)).toMatchObject({ selectedFrom: 'workspace', chain: ['board/common', 'board/one'] });
    expect((await skiffHere(['resolve'], { SKIFF_ROOT_DIR: root })).stdout).toContain('saved in workspace "default"');

    const replaced = await skiffHere(['configure'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/two' });
    expect(replaced.stdout).toContain('was configured as board/common,board/one; replacing it with board/two');
    expect(fs.readFileSync(path.join(ws, 'skiff_config'), 'utf8')).toBe('board/two\n');

    // Another workspace is independent.
    const other = await skiffHere(['resolve', '--json'], { SKIFF_ROOT_DIR: root, SKIFF_WORKSPACE: 'other' });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('workspace "other" has not been configured');
  });

  it('explains who set a symbol and what it overrode', async () => {
    const root = fixture();
    const r = await skiffHere(['resolve', '--explain', 'BR2_LINUX_KERNEL_DEFCONFIG'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one' });
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('BR2_LINUX_KERNEL_DEFCONFIG (buildroot) = "one"');
    expect(lines[1]).toBe(`  set by board/one at ${path.join(root, 'configs/board/one/buildroot/kernel')}:1`);
    expect(lines[2]).toContain('overrides "multi_v7" from board/common');
    expect(lines[3]).toContain('overrides "tiny" from skiff/base');
    const missing = await skiffHere(['resolve', '--explain', 'BR2_NOPE'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no layer in board/common,board/one sets BR2_NOPE');
  });

  it('refuses bad input with a clear error, a non-zero exit and nothing written', async () => {
    const root = fixture();
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ SKIFF_CONFIG: '' }, /SKIFF_CONFIG is empty.*\n {2}fix: set SKIFF_CONFIG/],
      [{ SKIFF_CONFIG: 'board/onee' }, /unknown layer board\/onee.*\n.*did you mean board\/one/],
      [{ SKIFF_CONFIG: 'board/../../etc' }, /contains "\.\."/],
      [{ SKIFF_CONFIG: '/etc/passwd' }, /absolute path/],
      [{ SKIFF_CONFIG: 'board/one', SKIFF_WORKSPACE: 'a/b' }, /cannot contain a slash/],
    ];
    for (const [env, message] of cases) {
      const r = await skiffHere(['configure'], { SKIFF_ROOT_DIR: root, ...env });
      expect(r.code, JSON.stringify(env)).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect(fs.existsSync(path.join(root, 'workspaces'))).toBe(false);
  });

  it('runs a declared extension command with the workspace environment, and lists the declared ones otherwise', async () => {
    const root = fixture();
    await skiffHere(['configure'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one' });
    const r = skiff(['cmd', 'board/one/hello'], { SKIFF_ROOT_DIR: root });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello from default chain=board/common,board/one\n');
    const bad = await skiffHere(['cmd', 'board/one/format'], { SKIFF_ROOT_DIR: root });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('board/one declares no command "format"');
    expect(bad.stderr).toContain('declared commands of board/one: hello, where, fail');
    const notSelected = await skiffHere(['cmd', 'board/two/x'], { SKIFF_ROOT_DIR: root });
    expect(notSelected.stderr).toContain('layer board/two is not in the selected configuration (board/common,board/one)');
  });

  it('says which extension command failed, how, and what it said last on stderr (also shown as it ran)', async () => {
    const root = fixture();
    await skiffHere(['configure'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one' });
    const r = skiff(['cmd', 'board/one/fail'], { SKIFF_ROOT_DIR: root });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('working on it\n');
    const makefile = path.join(root, 'configs/board/one/extensions');
    const [live, error] = r.stderr.split('skiff: error: ');
    // As it ran: every line, the escape sequence untouched (it is the command's own output).
    expect(live).toContain('noise 1\n');
    expect(live).toContain('disk \x1b[31mfull\n');
    expect(error).toBe(
      `board/one/fail failed: \`make --no-print-directory -C ${makefile} fail\` exited with code 2; its last lines on stderr:\n` +
        ['noise 5', 'noise 6', 'noise 7', 'noise 8', 'disk \\e[31mfull', 'make: *** [Makefile:6: fail] Error 3'].map((l) => `    ${l}\n`).join('') +
        `  fix: the command is declared in ${path.join(root, 'configs/board/one/metadata/commands')} and defined in ${makefile}/Makefile\n`,
    );
  });

  it('prints help for each command', async () => {
    for (const cmd of ['help', 'layers', 'boards', 'configure', 'resolve', 'compile', 'doctor', 'lock', 'cmd', 'test', 'br']) {
      const r = await skiffHere([cmd, '--help'], {});
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^skiff ${cmd}`));
      expect(r.stdout).toMatch(/^ {2}-h, --help +this help$/m);
    }
    expect((await skiffHere(['frobnicate'], {})).stderr).toContain('unknown command frobnicate');
  });
});
