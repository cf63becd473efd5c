import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planTest, type TestRequest } from '../../harness/test-plan.ts';
import { SkiffError } from '../../lib/errors.ts';
import { skiff, tempDir, writeTree } from '../support/tree.ts';
import { sampleManifest } from '../support/manifest.ts';

/** A lab whose board's power commands leave a marker file: proof that power was switched. */
function powerMarkerLab(): { dir: string; lab: string; marker: string } {
  const dir = tempDir();
  const marker = path.join(dir, 'power-was-switched');
  const lab = path.join(dir, 'lab.yaml');
  fs.writeFileSync(lab, `targets:\n  board:\n    kind: serial\n    serial: { device: ${dir}/tty }\n    power: { on: "touch ${marker}", off: "touch ${marker}" }\n`);
  return { dir, lab, marker };
}

const where = (rootDir: string) => ({ rootDir, workspace: 'default' });

describe('skiff test checks the whole command before it touches the target', () => {
  it.each([
    [['--scenario', 'bogus'], /^skiff: error: unknown scenario bogus\n {2}fix: scenarios: boot, persist, hostname, power-loss, ssh-keys\n$/],
    [['--scenario', 'boot,persit'], /^skiff: error: unknown scenario persit\n {2}fix: did you mean persist\? scenarios: /],
    // Later flags win: this `--target` replaces `--target board`.
    [['--target', 'bord'], /lab\.yaml has no target bord\n {2}fix: did you mean board\?/],
  ])('%j: exits 1 naming the culprit, and the power commands never ran', (args, message) => {
    const { lab, marker } = powerMarkerLab();
    const r = skiff(['test', '--lab', lab, '--target', 'board', ...args], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(marker), 'the board was switched off or on').toBe(false);
  });

  it('a bad key in the lab file is refused before the target is made', () => {
    const { lab, marker } = powerMarkerLab();
    fs.appendFileSync(lab, '    baudrate: 115200\n');
    const r = skiff(['test', '--lab', lab, '--target', 'board', '--scenario', 'boot'], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`skiff: error: ${lab}: targets.board.baudrate: unknown key\n  fix: targets.board takes kind, serial, power, ssh\n`);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('planTest', () => {
  it('plans a lab board: its spec, the scenarios asked for in run order, the reports folder', async () => {
    const { dir, lab, marker } = powerMarkerLab();
    const req: TestRequest = { lab, target: 'board', scenario: 'power-loss,boot', report: path.join(dir, 'reports/today') };
    const plan = await planTest(where(dir), req);
    expect(plan.target).toMatchObject({ kind: 'serial', name: 'board', device: path.join(dir, 'tty'), baud: 115200 });
    expect(plan.scenarios.map((s) => s.name)).toEqual(['boot', 'power-loss']);
    expect(plan.report).toBe(req.report);
    // Planning created nothing: no reports folder yet, no power switched.
    expect(fs.readdirSync(dir).sort()).toEqual(['lab.yaml']);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("adds the lab file's scenarios and the image's layers' tests/scenarios.ts, and refuses a name defined twice", async () => {
    const root = tempDir();
    const scenario = (name: string) => `export const scenarios = [{ name: '${name}', description: '${name}', needs: [], run: async () => {} }];\n`;
    writeTree(root, {
      'configs/acme/board/tests/scenarios.ts': scenario('acme-leds'),
      'images/out/acme/manifest.json': JSON.stringify(sampleManifest({ chain: ['acme/board'], layers: [{ id: 'acme/board', role: 'chain', path: 'configs/acme/board', files: {} }] })),
      'lab/mine.mts': scenario('my-check'),
      'lab.yaml': 'targets:\n  vm: { kind: qemu, image: images/out/acme }\nscenarios: [lab/mine.mts]\n',
    });
    const plan = await planTest(where(root), { lab: path.join(root, 'lab.yaml'), target: 'vm' });
    expect(plan.target).toMatchObject({ kind: 'qemu', name: 'vm', image: path.join(root, 'images/out/acme'), manifest: { chain: ['acme/board'] } });
    expect(plan.scenarios.map((s) => s.name)).toEqual(['boot', 'persist', 'hostname', 'power-loss', 'ssh-keys', 'my-check', 'acme-leds']);

    fs.writeFileSync(path.join(root, 'twin.mts'), scenario('acme-leds'));
    await expect(planTest(where(root), { lab: path.join(root, 'lab.yaml'), target: 'vm', scenarios: path.join(root, 'twin.mts') })).rejects.toThrow(
      `scenario acme-leds is defined twice: in ${path.join(root, 'twin.mts')} and in ${path.join(root, 'configs/acme/board/tests/scenarios.ts')}`,
    );
  });

  it.each<[TestRequest, RegExp, RegExp]>([
    [{ target: 'qmeu' }, /--target must be one of: v86, qemu, v86-browser \(or a target of a --lab file\), not qmeu/, /did you mean qemu\?/],
    [{ target: 'qemu' }, /^no image in .*images\/out\/default \(no manifest\.json\)$/, /SKIFF_CONFIG=virt\/qemu skiff configure compile/],
    [{ target: 'qemu', image: 'v86-image' }, /v86-image holds browser\/v86 \(boots with v86\), not an image for --target qemu/, /build virt\/qemu/],
  ])('refuses %j, saying what to do', async (req, message, fix) => {
    const root = tempDir();
    writeTree(root, { 'v86-image/manifest.json': JSON.stringify(sampleManifest({ bootMethod: 'v86', chain: ['browser/v86'], qemu: undefined })) });
    const err: unknown = await planTest(where(root), { ...req, image: req.image && path.join(root, req.image) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).message).toMatch(message);
    expect((err as SkiffError).fix).toMatch(fix);
  });

  it.each([
    [{ scenario: 'boot,,persist' }, /^--scenario "boot,,persist" has an empty name$/],
    [{ scenarios: 'missing.mts' }, /^--scenarios: scenario module .*missing\.mts does not exist$/],
    [{ report: 'lab.yaml/reports' }, /^--report .*lab\.yaml\/reports: .*lab\.yaml is a file, not a folder$/],
    [{ image: 'images/out/default' }, /^--image does not go with --lab$/],
  ])('refuses a lab run with %j', async (req, message) => {
    const { dir, lab } = powerMarkerLab();
    const paths = Object.fromEntries(Object.entries(req).map(([k, v]) => [k, k === 'scenario' ? v : path.join(dir, v)]));
    await expect(planTest(where(dir), { lab, target: 'board', ...paths })).rejects.toThrow(message);
  });

  it("refuses a lab board's SSH key that is not there", async () => {
    const { lab } = powerMarkerLab();
    fs.appendFileSync(lab, '    ssh: { host: 192.168.1.50, key: keys/board }\n');
    await expect(planTest(where(path.dirname(lab)), { lab, target: 'board' })).rejects.toThrow(/targets\.board\.ssh\.key: .*keys\/board is not a file/);
  });

  it('names a scenario module that does not load', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'broken.mts'), 'export const scenarios = [ this is not TypeScript\n');
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(sampleManifest({ bootMethod: 'v86', chain: ['browser/v86'], layers: [] })));
    await expect(planTest(where(dir), { target: 'v86', image: dir, scenarios: path.join(dir, 'broken.mts') })).rejects.toThrow(/^scenario module .*broken\.mts does not load: .*[Ee]xpected/);
  });
});
