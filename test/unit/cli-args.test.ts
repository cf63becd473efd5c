// The command line: every command's flags and positionals are checked before anything runs.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { skiffHere, treeSnapshot } from '../support/in-process.ts';
import { layer, PROJECT, scratchRoot, skiff } from '../support/tree.ts';

function fixture() {
  return scratchRoot({
    ...layer('board/one', { description: 'the first board\n', files: { 'buildroot/arch': 'BR2_arm=y\n', 'buildroot/k': 'BR2_LINUX_KERNEL_DEFCONFIG="one"\n' } }),
    ...layer('util/hidden', { description: 'a helper layer\n', unlisted: true }),
  });
}

/** One line of error and its fix, exit 1. */
function refused(r: { code: number | null; stdout: string; stderr: string }, message: RegExp, fix?: RegExp) {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  const [first, second, ...more] = r.stderr.trimEnd().split('\n');
  expect(first).toMatch(/^skiff: error: /);
  expect(first).toMatch(message);
  if (fix) expect(second).toMatch(fix);
  expect(more).toEqual([]);
}

describe('skiff help and version', () => {
  it('prints the overview for --help and -h, listing test with the other commands, without reading the environment', async () => {
    // A bad environment does not stop help: it needs none.
    const env = { SKIFF_WORKSPACE: '-bad', SKIFF_ROOT_DIR: '/nonexistent' };
    const long = await skiffHere(['--help'], env);
    expect(long.code).toBe(0);
    expect(long.stdout).toMatch(/^usage: skiff <command>/);
    for (const cmd of ['help', 'layers', 'boards', 'configure', 'resolve', 'compile', 'doctor', 'lock', 'cmd', 'test', 'br']) {
      expect(long.stdout).toMatch(new RegExp(`^  ${cmd} +\\S`, 'm'));
    }
    expect((await skiffHere(['-h'], env)).stdout).toBe(long.stdout);
  });

  it('prints a command\'s help for `help <command>`, `<command> --help`, `<command> -h` and `--help <command>`', async () => {
    const texts = [];
    for (const a of [['help', 'resolve'], ['resolve', '--help'], ['resolve', '-h'], ['--help', 'resolve'], ['resolve', '--jsno', '--help']]) texts.push(await skiffHere(a));
    for (const t of texts) expect(t).toEqual(texts[0]);
    expect(texts[0]!.code).toBe(0);
    expect(texts[0]!.stdout).toMatch(/^skiff resolve \[--json\] \[--explain SYMBOL\]\n/);
    expect(texts[0]!.stdout).toMatch(/^ {2}--explain SYMBOL +who set SYMBOL/m);
    refused(await skiffHere(['help', 'lyaers']), /unknown command lyaers/, /did you mean layers\?/);
  });

  it('`skiff` and `skiff help` show the layers and the commands, test among them', async () => {
    const root = fixture();
    const bare = await skiffHere([], { SKIFF_ROOT_DIR: root });
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain('board/one');
    expect(bare.stdout).toMatch(/^ {2}test +boot the image/m);
    expect((await skiffHere(['help'], { SKIFF_ROOT_DIR: root })).stdout).toBe(bare.stdout);
  });

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(PROJECT, 'package.json'), 'utf8')) as { version: string };
    expect(await skiffHere(['--version'])).toEqual({ code: 0, stdout: `skiff ${version}\n`, stderr: '' });
    refused(await skiffHere(['--version', 'layers']), /--version takes no arguments/);
  });

  it('runs as a program: exit codes and streams of bin/skiff.js', () => {
    const help = skiff(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: skiff/);
    const bad = skiff(['lyaers'], {});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      'skiff: error: unknown command lyaers\n  fix: did you mean layers? commands: help, layers, boards, configure, resolve, compile, doctor, lock, cmd, push, test, br; `skiff --help`\n',
    );
  });
});

describe('strict arguments', () => {
  it('refuses an unknown command, with the nearest command when one is close', async () => {
    refused(await skiffHere(['lyaers']), /unknown command lyaers$/, /did you mean layers\?/);
    const far = await skiffHere(['frobnicate']);
    refused(far, /unknown command frobnicate$/, /^ {2}fix: commands: help, layers/);
    refused(await skiffHere(['--json', 'layers']), /unknown option --json before the command/, /a command's own follow it/);
  });

  it('refuses an unknown flag, naming the command and the nearest flag', async () => {
    const root = fixture();
    const before = treeSnapshot(root);
    refused(await skiffHere(['layers', '--jsno'], { SKIFF_ROOT_DIR: root }), /unknown option --jsno for skiff layers/, /did you mean --json\?/);
    // A typo must not run every scenario (power cuts included) on a real board.
    refused(await skiffHere(['test', '--scenrio', 'boot', '--target', 'v86'], { SKIFF_ROOT_DIR: root }), /unknown option --scenrio for skiff test/, /did you mean --scenario, --scenarios\?/);
    refused(await skiffHere(['configure', '--force'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one' }), /unknown option --force for skiff configure/);
    refused(await skiffHere(['cmd', '-x', 'a/b/c'], { SKIFF_ROOT_DIR: root }), /unknown option -x for skiff cmd/, /skiff cmd takes no options/);
    refused(await skiffHere(['resolve', '--no-explain'], { SKIFF_ROOT_DIR: root }), /--explain takes a value; there is no --no-explain/);
    expect(treeSnapshot(root)).toEqual(before);
  });

  it('refuses stray words, suggesting the flag or choice that was meant', async () => {
    const root = fixture();
    refused(await skiffHere(['layers', 'extra', 'args'], { SKIFF_ROOT_DIR: root }), /skiff layers: unexpected argument extra: skiff layers takes no arguments/);
    refused(await skiffHere(['layers', 'json'], { SKIFF_ROOT_DIR: root }), /unexpected argument json/, /did you mean --json\?/);
    refused(await skiffHere(['configure', 'compiel'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one' }), /compiel is not one of: compile/, /did you mean compile\?/);
    refused(await skiffHere(['cmd', 'board/one/a', 'more'], { SKIFF_ROOT_DIR: root }), /unexpected argument more/);
    refused(await skiffHere(['cmd'], { SKIFF_ROOT_DIR: root }), /skiff cmd needs <namespace\/layer\/command>/, /e\.g\. `skiff cmd virt\/qemu\/run`/);
    expect(fs.existsSync(path.join(root, 'workspaces'))).toBe(false);
  });

  it('takes --no-<switch> as off and refuses a value given to a switch', async () => {
    const root = fixture();
    const on = await skiffHere(['layers', '--json'], { SKIFF_ROOT_DIR: root });
    expect(JSON.parse(on.stdout)).toHaveLength(2);
    const off = await skiffHere(['layers', '--no-json'], { SKIFF_ROOT_DIR: root });
    expect(off.code).toBe(0);
    expect(off.stdout).toMatch(/^LAYER +ARCH +DESCRIPTION\nboard\/one /);
    // The last one given wins, as usual for switches.
    expect((await skiffHere(['layers', '--json', '--no-json'], { SKIFF_ROOT_DIR: root })).stdout).toBe(off.stdout);
    for (const v of ['false', 'true', '0']) {
      refused(await skiffHere(['layers', `--json=${v}`], { SKIFF_ROOT_DIR: root }), new RegExp(`--json is a switch and takes no value \\(got --json=${v}\\)`), /--json turns it on, --no-json turns it off/);
    }
  });

  it('names a value flag whose value is missing, with an example that fits that flag', async () => {
    const root = fixture();
    refused(await skiffHere(['resolve', '--explain'], { SKIFF_ROOT_DIR: root }), /--explain needs a value \(SYMBOL\)/, /e\.g\. `skiff resolve --explain CONFIG_SERIAL_8250`/);
    refused(await skiffHere(['test', '--target'], { SKIFF_ROOT_DIR: root }), /--target needs a value/, /e\.g\. `skiff test --target v86`/);
    refused(await skiffHere(['test', '--target', '--report', 'r'], { SKIFF_ROOT_DIR: root }), /--target needs a value, but the next word is the option --report/, /--target v86/);
    refused(await skiffHere(['test', '--lab='], { SKIFF_ROOT_DIR: root }), /--lab needs a value/, /e\.g\. `skiff test --lab lab\.yaml`/);
    expect(fs.existsSync(path.join(root, 'r'))).toBe(false);
  });

  it('refuses `skiff compile configure`, naming the order, with nothing built; `configure compile` configures then compiles', async () => {
    const root = fixture();
    const env = { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one' };
    refused(await skiffHere(['compile', 'configure'], env), /configure comes before compile/, /run `skiff configure compile`/);
    expect(fs.existsSync(path.join(root, 'workspaces'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'images'))).toBe(false);
    // board/one sets no debian ARCH: the compile step stops at once, after configure has run.
    const both = await skiffHere(['configure', 'compile'], env);
    expect(both.code).toBe(1);
    expect(both.stdout).toContain('Configured workspace "default"');
    expect(both.stderr).toContain('board/one set no target architecture');
    expect(fs.readFileSync(path.join(root, 'workspaces/default/skiff_config'), 'utf8')).toBe('board/one\n');
    refused(await skiffHere(['configure', '--json'], env), /configure alone builds nothing/, /skiff configure compile --json/);
  });

  it('refuses two output formats at once', async () => {
    const root = fixture();
    refused(await skiffHere(['boards', '--json', '--markdown'], { SKIFF_ROOT_DIR: root }), /--json and --markdown are two formats/);
    refused(await skiffHere(['resolve', '--json', '--explain', 'X'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one' }), /--explain prints text and has no --json form/);
  });

  it('escapes control characters from the command line in errors', async () => {
    const r = await skiffHere(['layers', '--js\x1b[2Jon']);
    refused(r, /unknown option "--js\\e\[2Jon" for skiff layers/);
    expect(r.stderr).not.toContain('\x1b');
    const cmd = await skiffHere(['lay\rers\x07']);
    refused(cmd, /unknown command "lay\\rers\\x07"/);
    const sym = await skiffHere(['resolve', '--explain', 'A\u202eB'], { SKIFF_ROOT_DIR: fixture(), SKIFF_CONFIG: 'board/one' });
    refused(sym, /sets "A\\u\{202e\}B"/);
  });

  it('says plainly that there is no Buildroot here, in br\'s help and when it runs', async () => {
    const help = await skiffHere(['br', '--help']);
    expect(help.stdout).toMatch(/^skiff br \[target\]\n {2}Not available\./);
    expect(help.stdout).toContain('this project has\n  no Buildroot: it builds with the debian backend');
    refused(await skiffHere(['br', 'menuconfig']), /there is no Buildroot in this project: it builds with the debian backend/, /skiff configure compile/);
  });
});
