// The environment a command runs in: each bad variable or misplaced file is one error naming it
// and the fix, exit 1, and the tree left exactly as it was.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { skiffHere, treeSnapshot } from '../support/in-process.ts';
import { layer, scratchRoot } from '../support/tree.ts';

function fixture(extra: Record<string, string> = {}) {
  return scratchRoot({
    ...layer('board/one', { description: 'the first board\n', files: { 'buildroot/arch': 'BR2_arm=y\n' } }),
    ...extra,
  });
}

/** Runs `skiff configure` (it writes the workspace) and expects the refusal, with nothing written. */
async function refusedConfigure(root: string, env: NodeJS.ProcessEnv, message: RegExp, fix: RegExp) {
  const before = treeSnapshot(root);
  const r = await skiffHere(['configure'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one', ...env });
  expect(r.code, r.stdout).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(2);
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(fix);
  expect(r.stderr).not.toMatch(/\x1b|\x07|\r/);
  expect(treeSnapshot(root)).toEqual(before);
  return r;
}

describe('SKIFF_WORKSPACE: one rule, checked before anything is written', () => {
  const fix = /fix: name it with lower case letters, digits/;

  it('refuses names that are too long, hidden, read as options, paths or odd characters', async () => {
    const root = fixture();
    // 300 characters used to end in ENAMETOOLONG and a stack trace.
    await refusedConfigure(root, { SKIFF_WORKSPACE: 'x'.repeat(300) }, /invalid SKIFF_WORKSPACE "x{40}…" \(300 characters\): a workspace name has at most 64 characters/, fix);
    await refusedConfigure(root, { SKIFF_WORKSPACE: '...' }, /invalid SKIFF_WORKSPACE "\.\.\.": it starts with "\."/, fix);
    await refusedConfigure(root, { SKIFF_WORKSPACE: '.hidden' }, /invalid SKIFF_WORKSPACE "\.hidden": it starts with "\." \(a hidden folder/, fix);
    await refusedConfigure(root, { SKIFF_WORKSPACE: '-rf' }, /invalid SKIFF_WORKSPACE "-rf": it starts with "-" \(tools would read/, fix);
    await refusedConfigure(root, { SKIFF_WORKSPACE: 'a/b' }, /cannot contain a slash/, fix);
    await refusedConfigure(root, { SKIFF_WORKSPACE: 'my ws' }, /invalid SKIFF_WORKSPACE "my ws": it has characters outside a-z/, fix);
    await refusedConfigure(root, { SKIFF_WORKSPACE: 'ws\x1b[31m' }, /invalid SKIFF_WORKSPACE "ws\\e\[31m"/, fix);
    expect(fs.existsSync(path.join(root, 'workspaces'))).toBe(false);
  });

  it('refuses upper case rather than folding it, naming the lower case folder upstream would use', async () => {
    await refusedConfigure(fixture(), { SKIFF_WORKSPACE: 'MyWS' }, /invalid SKIFF_WORKSPACE "MyWS": workspace names are lower case/, /fix: use SKIFF_WORKSPACE=myws$/);
  });

  it('accepts upstream\'s character set, 64 characters at most, and an unset or blank name as "default"', async () => {
    const root = fixture();
    const name = `a1.b_c-${'d'.repeat(57)}`;
    expect(name).toHaveLength(64);
    expect((await skiffHere(['configure'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one', SKIFF_WORKSPACE: name })).code).toBe(0);
    expect((await skiffHere(['configure'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one', SKIFF_WORKSPACE: ' ' })).code).toBe(0);
    expect(fs.readdirSync(path.join(root, 'workspaces')).sort()).toEqual([name, 'default']);
  });
});

describe('folders the environment points at', () => {
  it('refuses a file where the workspace folder, its parent, or its images folder should be', async () => {
    const root = fixture({ 'workspaces/filews': 'not a folder\n' });
    await refusedConfigure(root, { SKIFF_WORKSPACE: 'filews' }, /workspace "filews" \(SKIFF_WORKSPACE\) cannot use .*workspaces\/filews: .*filews is a file, not a folder/, /move that file away, or choose another workspace/);
    const flat = fixture({ workspaces: 'a file\n' });
    await refusedConfigure(flat, {}, /cannot use .*workspaces\/default: .*workspaces is a file, where a folder is needed/, /move that file away/);
    const images = fixture({ 'images/out/default': 'a file\n' });
    await refusedConfigure(images, {}, /cannot use .*images\/out\/default: .*is a file, not a folder/, /move that file away/);
  });

  it('refuses SKIFF_CACHE_DIR when it is a file, below a file, or too long a name', async () => {
    const root = fixture({ cachefile: 'x\n' });
    const file = path.join(root, 'cachefile');
    await refusedConfigure(root, { SKIFF_CACHE_DIR: file }, /SKIFF_CACHE_DIR=".*cachefile" cannot hold the cache: .*cachefile is a file, not a folder/, /point SKIFF_CACHE_DIR at a folder/);
    await refusedConfigure(root, { SKIFF_CACHE_DIR: path.join(file, 'sub') }, /cachefile\/sub" cannot hold the cache: .*cachefile is a file, where a folder is needed/, /SKIFF_CACHE_DIR/);
    await refusedConfigure(root, { SKIFF_CACHE_DIR: path.join(root, 'c'.repeat(300)) }, /SKIFF_CACHE_DIR=.*\(\d+ characters\) cannot hold the cache: the path is longer than the file system allows/, /SKIFF_CACHE_DIR/);
  });

  it('refuses a SKIFF_ROOT_DIR that is not a folder', async () => {
    const root = fixture({ plain: 'x\n' });
    await refusedConfigure(root, { SKIFF_ROOT_DIR: path.join(root, 'plain') }, /SKIFF_ROOT_DIR=".*plain" cannot be used: .*plain is a file, not a folder/, /point SKIFF_ROOT_DIR at a folder holding configs/);
  });

  it('refuses a SKIFF_DEBIAN_MIRROR that is not an http(s) URL, before any download', async () => {
    const root = fixture();
    const fix = /set it to a Debian mirror, e\.g\. SKIFF_DEBIAN_MIRROR=http:\/\/deb\.debian\.org\/debian/;
    await refusedConfigure(root, { SKIFF_DEBIAN_MIRROR: 'not a url' }, /SKIFF_DEBIAN_MIRROR="not a url" is not an http:\/\/ or https:\/\/ URL/, fix);
    await refusedConfigure(root, { SKIFF_DEBIAN_MIRROR: 'ftp://ftp.debian.org/debian' }, /"ftp:\/\/ftp\.debian\.org\/debian" is not an http/, fix);
    await refusedConfigure(root, { SKIFF_DEBIAN_MIRROR: 'deb.debian.org/debian' }, /is not an http/, fix);
    const lock = await skiffHere(['lock'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one', SKIFF_DEBIAN_MIRROR: 'not a url' });
    expect(lock.stderr).toMatch(/^skiff: error: SKIFF_DEBIAN_MIRROR="not a url"/);
    const ok = await skiffHere(['configure'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one', SKIFF_DEBIAN_MIRROR: 'http://mirror.example/debian' });
    expect(ok.code).toBe(0);
  });
});

describe('layer folders and metadata', () => {
  const fix = /point SKIFF_CONFIG_PATH_\w+ at the layer's own folder .*, or unset it/;

  it('refuses a SKIFF_CONFIG_PATH_ variable naming /, the project, a file or nothing, used or not', async () => {
    const root = fixture({ 'elsewhere/file': 'x\n' });
    await refusedConfigure(root, { SKIFF_CONFIG_PATH_X: '/' }, /SKIFF_CONFIG_PATH_X="\/" is the file system root, not a layer folder/, fix);
    await refusedConfigure(root, { SKIFF_CONFIG_PATH_BOARD_ONE: '/' }, /SKIFF_CONFIG_PATH_BOARD_ONE="\/" is the file system root/, fix);
    await refusedConfigure(root, { SKIFF_CONFIG_PATH_BOARD_ONE: root }, /holds the whole project/, fix);
    await refusedConfigure(root, { SKIFF_CONFIG_PATH_BOARD_ONE: path.join(root, 'elsewhere/file') }, /SKIFF_CONFIG_PATH_BOARD_ONE=".*elsewhere\/file" is not a folder/, fix);
    await refusedConfigure(root, { SKIFF_CONFIG_PATH_NOT_USED: path.join(root, 'missing') }, /SKIFF_CONFIG_PATH_NOT_USED=".*missing" is not a folder/, fix);
  });

  it('still takes a layer override that is a folder', async () => {
    const root = fixture({ 'mine/one/metadata/description': 'my own board one\n' });
    const r = await skiffHere(['resolve', '--json'], { SKIFF_ROOT_DIR: root, SKIFF_CONFIG: 'board/one', SKIFF_CONFIG_PATH_BOARD_ONE: path.join(root, 'mine/one') });
    expect(JSON.parse(r.stdout).stack).toEqual([expect.objectContaining({ id: 'board/one', dir: path.join(root, 'mine/one'), origin: 'preset' })]);
  });

  it('refuses a metadata/dependencies (or other metadata file) that is a folder, naming it', async () => {
    const deps = scratchRoot({ ...layer('board/one'), 'configs/board/one/metadata/dependencies/x': '' });
    const file = path.join(deps, 'configs/board/one/metadata/dependencies');
    await refusedConfigure(deps, {}, new RegExp(`^skiff: error: ${file} is a folder, not a file$`), new RegExp(`make ${file} a text file .*, or remove it`));
    const layers = await skiffHere(['layers'], { SKIFF_ROOT_DIR: deps });
    expect(layers.stderr).toContain(`${file} is a folder, not a file`);
    const meta = scratchRoot({ 'configs/board/one/metadata': 'a file\n' });
    await refusedConfigure(meta, {}, /configs\/board\/one\/metadata is a file, not a folder/, /make .*metadata a folder of metadata files/);
  });

  it('escapes control characters of layer names in errors', async () => {
    const r = await refusedConfigure(fixture(), { SKIFF_CONFIG: 'board/one,x/\x1b[2Jy\x07' }, /invalid layer name in SKIFF_CONFIG: "x\/\\e\[2Jy\\x07" has characters outside/, /name layers as namespace\/name/);
    expect(r.stderr).not.toContain('\x1b');
  });
});
