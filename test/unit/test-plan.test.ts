import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { slotFiles } from '../../deploy/push.ts';
import { brokenBuild } from '../../harness/deploy-scenarios.ts';
import { builtImage } from '../../harness/deployer.ts';
import { planTest, type TestRequest } from '../../harness/test-plan.ts';
import { readManifest } from '../../images/manifest.ts';
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
    [['--scenario', 'bogus'], /^skiff: error: unknown scenario bogus\n {2}fix: scenarios: boot, persist, hostname, power-loss, ssh-keys, upgrade\n$/],
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
    expect(r.stderr).toBe(`skiff: error: ${lab}: targets.board.baudrate: unknown key\n  fix: targets.board takes kind, serial, power, ssh, deploy, sd_card\n`);
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

/** A build of a board with two boot slots (the Orange Pi's layout), its slot files as its manifest records them. */
function slottedBuild(dir: string): void {
  const files: Record<string, string> = { 'boot/slot-a/zImage': 'kernel', 'boot/slot-a/initramfs.cpio.zst': 'initramfs' };
  const outputs = Object.fromEntries(Object.entries(files).map(([f, text]) => [f, { size: text.length, sha256: crypto.createHash('sha256').update(text).digest('hex') }]));
  writeTree(dir, { ...files, 'manifest.json': JSON.stringify(sampleManifest({ chain: ['orangepi/zero'], arch: 'armhf', family: 'orangepi', outputs })) });
}

describe('skiff test --deploy', () => {
  const labWith = (target: string) => {
    const { dir, lab, marker } = powerMarkerLab();
    fs.appendFileSync(lab, target);
    return { dir, lab, marker };
  };

  it('plans the push of the build named by --image over the lab board\'s SSH, with upgrade after the other scenarios', async () => {
    const { dir, lab, marker } = labWith('    ssh: { host: 192.168.1.50, key: id_board }\n    deploy: ssh\n');
    fs.writeFileSync(path.join(dir, 'id_board'), 'a key');
    slottedBuild(path.join(dir, 'build'));
    const plan = await planTest(where(dir), { lab, target: 'board', deploy: true, image: path.join(dir, 'build') });
    expect(plan.deploy).toMatchObject({ how: 'ssh', build: path.join(dir, 'build'), key: path.join(dir, 'id_board'), manifest: { family: 'orangepi' } });
    expect(plan.scenarios.map((s) => s.name)).toEqual(['boot', 'persist', 'hostname', 'power-loss', 'ssh-keys', 'upgrade']);
    expect(fs.existsSync(marker)).toBe(false);
    // Without --deploy, upgrade is not run, and asked for by name it is refused.
    expect((await planTest(where(dir), { lab, target: 'board' })).scenarios.map((s) => s.name)).not.toContain('upgrade');
    await expect(planTest(where(dir), { lab, target: 'board', scenario: 'upgrade' })).rejects.toThrow('scenario upgrade pushes builds to the target: it needs --deploy');
  });

  it.each<[string, TestRequest, RegExp, RegExp]>([
    ['', { deploy: true }, /lab\.yaml: targets\.board has deploy: none \(the default\), so --deploy has no way to put a build on it$/, /add deploy: ssh \(with ssh: \{ host: \.\.\. \}\) to the target, or drop --deploy/],
    [
      '    deploy: sd\n    sd_card: { to_host: "mux host", to_board: "mux board", device: /dev/sdz }\n',
      { deploy: true },
      /targets\.board has deploy: sd, which skiff test --deploy cannot do yet/,
      /use deploy: ssh/,
    ],
    // A build without boot slots cannot be pushed: refused as skiff push refuses it.
    ['    ssh: { host: 192.168.1.50 }\n    deploy: ssh\n', { deploy: true, image: 'flat' }, /flat \(virt\/qemu\) has no boot slots/, /BOOT_SLOTS=ab/],
    ['    ssh: { host: 192.168.1.50 }\n    deploy: ssh\n', { deploy: true }, /^no image in .*images\/out\/default \(no manifest\.json\)$/, /skiff configure compile/],
  ])('refuses a lab board with %j and %j before touching it', async (target, req, message, fix) => {
    const { dir, lab, marker } = labWith(target);
    writeTree(dir, { 'flat/manifest.json': JSON.stringify(sampleManifest()) });
    const err: unknown = await planTest(where(dir), { lab, target: 'board', ...req, image: req.image && path.join(dir, req.image) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).message).toMatch(message);
    expect((err as SkiffError).fix).toMatch(fix);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('deploys to a QEMU machine named on the command line (the build it boots), and refuses v86, which has no SSH', async () => {
    const dir = tempDir();
    slottedBuild(dir);
    const plan = await planTest(where(dir), { target: 'qemu', image: dir, deploy: true });
    expect(plan.deploy).toMatchObject({ how: 'ssh', build: dir });
    expect(plan.deploy!.key).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(sampleManifest({ bootMethod: 'v86', chain: ['browser/v86'], layers: [] })));
    await expect(planTest(where(dir), { target: 'v86', image: dir, deploy: true })).rejects.toThrow('--deploy needs a target it reaches over SSH: v86 has none');
  });

  it('refuses a lab v86 target with deploy: ssh before touching it, and pushes a lab qemu target its own image unless --image names another', async () => {
    const dir = tempDir();
    slottedBuild(path.join(dir, 'card'));
    slottedBuild(path.join(dir, 'newer'));
    writeTree(dir, { 'tab/manifest.json': JSON.stringify(sampleManifest({ bootMethod: 'v86', chain: ['browser/v86'], layers: [] })) });
    const lab = path.join(dir, 'lab.yaml');
    fs.writeFileSync(lab, 'targets:\n  tab: { kind: v86, image: tab, deploy: ssh }\n  card: { kind: qemu, image: card, deploy: ssh }\n');
    await expect(planTest(where(dir), { lab, target: 'tab', deploy: true })).rejects.toThrow(/targets\.tab: a v86 target has no SSH server the harness can reach/);
    expect((await planTest(where(dir), { lab, target: 'card', deploy: true })).deploy).toMatchObject({ how: 'ssh', build: path.join(dir, 'card') });
    expect((await planTest(where(dir), { lab, target: 'card', deploy: true, image: path.join(dir, 'newer') })).deploy).toMatchObject({ build: path.join(dir, 'newer') });
  });

  it("upgrade's broken build is one skiff push sends: the same slot files but an initramfs that is not one, recorded in its manifest", () => {
    const dir = tempDir();
    slottedBuild(path.join(dir, 'build'));
    const broken = brokenBuild(path.join(dir, 'build'), path.join(dir, 'broken'));
    const manifest = readManifest(broken);
    const files = slotFiles(broken, manifest);
    expect(files.map((f) => f.name).sort()).toEqual(['initramfs.cpio.zst', 'zImage']);
    expect(fs.readFileSync(path.join(broken, 'boot/slot-a/initramfs.cpio.zst'), 'utf8')).toBe('not an initramfs\n');
    expect(builtImage(manifest)).not.toBe(builtImage(readManifest(path.join(dir, 'build'))));
    expect(fs.readFileSync(path.join(broken, 'boot/slot-a/zImage'), 'utf8')).toBe('kernel');
  });

  it('misspelt --deploy is refused with the flag it meant, before the target is touched', () => {
    const { lab, marker } = labWith('');
    const r = skiff(['test', '--lab', lab, '--target', 'board', '--deplyo'], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown option --deplyo for skiff test\n {2}fix: did you mean --deploy\?/);
    expect(fs.existsSync(marker)).toBe(false);
  });
});
