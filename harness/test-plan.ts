// `skiff test` decided before anything runs: which target, which image, which scenarios, where
// reports go. Planning starts no process and switches no power, so a typo on the command line or
// in the lab file can never power a board off; only a checked plan is handed to openTarget().
import fs from 'node:fs';
import path from 'node:path';
import { type Manifest, readManifest } from '../images/manifest.ts';
import { outDir, type Where } from '../images/paths.ts';
import { SkiffError } from '../lib/errors.ts';
import { quoted, shown } from '../lib/printable.ts';
import { didYouMean, nearestNames } from '../lib/suggest.ts';
import { upgrade } from './deploy-scenarios.ts';
import { checkQemuFirmware } from './qemu.ts';
import { checkDeployBuild, type DeployPlan } from './deployer.ts';
import { layerScenarioFiles, loadScenarioModules } from './extra-scenarios.ts';
import { type EmulatorSpec, type Lab, readLab, type SerialSpec } from './lab.ts';
import { BUILTIN_SCENARIOS, type Scenario } from './scenarios.ts';
import { sshKeys } from './ssh-scenarios.ts';
import { EMULATOR_KINDS, EMULATORS, type EmulatorKind } from './targets/kinds.ts';

/** What `skiff test` was asked, flag by flag, as given on its command line. */
export interface TestRequest {
  target?: string;
  lab?: string;
  image?: string;
  /** Comma-separated scenario names. */
  scenario?: string;
  /** A module of the user's own scenarios. */
  scenarios?: string;
  report?: string;
  /** Deploy the build (the workspace's, or --image) to the target first. */
  deploy?: boolean;
}

export type TargetPlan = SerialSpec | (EmulatorSpec & { manifest: Manifest });

export interface TestPlan {
  target: TargetPlan;
  /** In the order they run. */
  scenarios: Scenario[];
  /** The folder for junit.xml and report.md (created when the run ends). */
  report?: string;
  /** With --deploy: the build the deploy step pushes first. */
  deploy?: DeployPlan;
}

/**
 * Checks the whole request (lab file, target, image, scenario files and names, reports folder)
 * and returns what to run, or throws the first problem as a SkiffError. Its only effects are
 * reading files and importing scenario modules (their names are what `--scenario` is checked against).
 */
export async function planTest(where: Pick<Where, 'rootDir' | 'workspace'>, req: TestRequest): Promise<TestPlan> {
  const lab = req.lab === undefined ? undefined : readLab(req.lab);
  const target = lab ? labTarget(lab, req) : emulatorByName(where, req);
  const deploy = req.deploy ? planDeploy(where, req, target, lab) : undefined;
  if (req.report !== undefined) checkReportFolder(req.report);
  const files: { file: string; from: string }[] = [];
  lab?.scenarios.forEach((file, i) => files.push({ file, from: `${lab.file}: scenarios[${i}]` }));
  if (req.scenarios !== undefined) files.push({ file: path.resolve(req.scenarios), from: '--scenarios' });
  if (target.kind !== 'serial') for (const file of layerScenarioFiles(where.rootDir, target.manifest.layers)) files.push({ file, from: 'the image\'s layers' });
  const scenarios = await selectScenarios(files, req.scenario, Boolean(deploy));
  return { target, scenarios, report: req.report, deploy };
}

/**
 * What --deploy sends and how: the lab target's `deploy:` way (an emulator named on the command
 * line deploys over its forwarded SSH port), and the build, checked as `skiff push` would.
 */
function planDeploy(where: Pick<Where, 'rootDir' | 'workspace'>, req: TestRequest, target: TargetPlan, lab: Lab | undefined): DeployPlan {
  const at = lab ? `${lab.file}: targets.${target.name}` : `--target ${target.name}`;
  const how = lab ? (target.deploy ?? 'none') : target.kind === 'qemu' ? 'ssh' : 'none';
  if (how === 'none') {
    throw new SkiffError(
      lab ? `${at} has deploy: none (the default), so --deploy has no way to put a build on it` : `--deploy needs a target it reaches over SSH: ${target.name} has none`,
      lab ? (target.kind === 'serial' ? 'add deploy: ssh (with ssh: { host: ... }) to the target, or drop --deploy' : 'add deploy: ssh to the target, or drop --deploy') : 'use --target qemu (a board QEMU models, e.g. the Orange Pi card), or a lab target with deploy: ssh',
    );
  }
  if (how === 'sd') {
    throw new SkiffError(
      `${at} has deploy: sd, which skiff test --deploy cannot do yet (writing a card through sd_card: commands is not built)`,
      'use deploy: ssh (skiff push over the ssh: settings), or write the card yourself with the board\'s install command (skiff cmd <board>/install) and drop --deploy',
    );
  }
  if (target.kind !== 'serial' && target.kind !== 'qemu') {
    throw new SkiffError(`${at}: a ${target.kind} target has no SSH server the harness can reach, so --deploy cannot push to it`, 'use a qemu target (a board QEMU models, e.g. the Orange Pi card), or a board with deploy: ssh');
  }
  // An emulator boots a copy of its image's card: unless --image names another, that build is pushed into its other slot.
  const build = path.resolve(req.image ?? (target.kind === 'serial' ? outDir(where) : target.image));
  const manifest = readManifest(build);
  checkDeployBuild(build, manifest);
  return { how, build, manifest, key: target.kind === 'serial' ? target.ssh?.key : undefined };
}

function labTarget(lab: Lab, req: TestRequest): TargetPlan {
  const names = [...lab.targets.keys()];
  if (req.target === undefined) throw new SkiffError(`--target is missing: which target of ${lab.file}?`, `pass one with --target: ${names.join(', ')}`);
  const spec = lab.targets.get(req.target);
  if (!spec) throw new SkiffError(`${lab.file} has no target ${shown(req.target)}`, `${near(req.target, names)}targets in it: ${names.join(', ')}`);
  // With --deploy, --image is the build to deploy; otherwise the lab file says what the target boots.
  if (req.image !== undefined && !req.deploy) {
    throw new SkiffError('--image does not go with --lab', spec.kind === 'serial' ? 'a serial target boots what is on the board; drop --image' : `the lab file names this target's image (targets.${spec.name}.image); drop --image`);
  }
  if (spec.kind !== 'serial') return { ...spec, manifest: checkImage(spec.kind, spec.image) };
  if (spec.ssh?.key !== undefined && !isFile(spec.ssh.key)) {
    throw new SkiffError(`${lab.file}: targets.${spec.name}.ssh.key: ${spec.ssh.key} is not a file`, "the board's private key (relative paths are from the lab file's folder), or remove key:");
  }
  return spec;
}

function emulatorByName(where: Pick<Where, 'rootDir' | 'workspace'>, req: TestRequest): TargetPlan {
  const name = req.target;
  if (name === undefined || !Object.hasOwn(EMULATORS, name)) {
    const hint = name === undefined ? '' : near(name, EMULATOR_KINDS);
    throw new SkiffError(`--target must be one of: ${EMULATOR_KINDS.join(', ')} (or a target of a --lab file)${name === undefined ? '' : `, not ${shown(name)}`}`, `${hint}e.g. \`skiff test --target v86\``);
  }
  const kind = name as EmulatorKind;
  const image = path.resolve(req.image ?? outDir(where));
  return { kind, name, image, manifest: checkImage(kind, image) };
}

/** The manifest of the image in `image`, checked to be an image this emulator boots. */
function checkImage(kind: EmulatorKind, image: string): Manifest {
  const { bootMethod, build } = EMULATORS[kind];
  const manifest = readManifest(image, build);
  // QEMU boots whatever its layers say how to (QEMU_BINARY): a machine layer, or a board QEMU models.
  const fits = kind === 'qemu' ? Boolean(manifest.qemu) : manifest.bootMethod === bootMethod;
  if (!fits) {
    throw new SkiffError(`${image} holds ${manifest.chain.join(',')} (boots with ${manifest.bootMethod}), not an image for --target ${kind}`, `build ${build} in a workspace and pass it: SKIFF_WORKSPACE=<name> skiff test --target ${kind}`);
  }
  if (kind === 'qemu') checkQemuFirmware(manifest.qemu);
  return manifest;
}

/** The reports folder need not exist yet, but must be creatable: its nearest existing ancestor a writable folder. */
function checkReportFolder(report: string): void {
  let probe = path.resolve(report);
  while (!fs.existsSync(probe)) probe = path.dirname(probe);
  if (!fs.statSync(probe).isDirectory()) throw new SkiffError(`--report ${report}: ${probe} is a file, not a folder`, 'pass a folder for junit.xml and report.md');
  try {
    fs.accessSync(probe, fs.constants.W_OK);
  } catch {
    throw new SkiffError(`--report ${report}: cannot write in ${probe}`, 'pass a folder you can write to');
  }
}

/** Every scenario (built in, then each file's), and those `--scenario` names, in that order. */
async function selectScenarios(files: { file: string; from: string }[], wanted: string | undefined, deploying: boolean): Promise<Scenario[]> {
  const all: { scenario: Scenario; from: string }[] = [...BUILTIN_SCENARIOS, sshKeys, upgrade].map((scenario) => ({ scenario, from: 'built in' }));
  for (const { file, from } of files) {
    if (!isFile(file)) throw new SkiffError(`${from}: scenario module ${file} does not exist`, from === '--scenarios' ? 'fix the path' : "fix the path (relative paths are from the lab file's folder)");
  }
  for (const { file } of files) {
    for (const scenario of await loadScenarioModules([file])) {
      const twin = all.find((s) => s.scenario.name === scenario.name);
      if (twin) throw new SkiffError(`scenario ${shown(scenario.name)} is defined twice: ${twin.from} and in ${file}`, 'rename one of them');
      all.push({ scenario, from: `in ${file}` });
    }
  }
  const names = all.map((s) => s.scenario.name);
  // upgrade pushes builds: part of a run only with --deploy, and refused by name without it.
  if (wanted === undefined) return all.map((s) => s.scenario).filter((s) => deploying || s !== upgrade);
  const asked = wanted.split(',').map((n) => n.trim());
  if (asked.includes('')) throw new SkiffError(`--scenario ${quoted(wanted)} has an empty name`, `comma-separated names, e.g. --scenario boot,persist; scenarios: ${names.join(', ')}`);
  const unknown = asked.filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    const close = [...new Set(unknown.flatMap((n) => nearestNames(n, names)))];
    throw new SkiffError(`unknown scenario${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => shown(n)).join(', ')}`, `${close.length > 0 ? `did you mean ${close.join(', ')}? ` : ''}scenarios: ${names.join(', ')}`);
  }
  if (asked.includes(upgrade.name) && !deploying) throw new SkiffError('scenario upgrade pushes builds to the target: it needs --deploy', 'add --deploy (the build to push: the workspace\'s, or --image)');
  return all.map((s) => s.scenario).filter((s) => asked.includes(s.name));
}

/** "did you mean x? " before a fix, or nothing when no known name is close. */
const near = (name: string, known: Iterable<string>) => {
  const hint = didYouMean(name, known);
  return hint ? `${hint} ` : '';
};

function isFile(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}
