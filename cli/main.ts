import { runExtensionCommand } from '../buildroot/layers/commands.ts';
import { type Context, contextFromEnv } from '../buildroot/layers/context.ts';
import { discover } from '../buildroot/layers/discover.ts';
import { SkiffError } from '../lib/errors.ts';
import { FRAGMENT_KINDS, renderSetting } from '../buildroot/layers/fragments.ts';
import { layerInfos, renderHelp } from '../buildroot/layers/help.ts';
import { describeResolution, resolveSelection, savedChain, selectConfig, writeWorkspace } from '../buildroot/layers/workspace.ts';
import { boardRows, renderMarkdown, renderText } from '../buildroot/boards.ts';
import { lockedBootloader } from '../buildroot/debian/bootloader.ts';
import { compile as compileImages, lockedPackages, planBuild, planNeeds } from '../buildroot/debian/compile.ts';
import { fixHostTools, hostNeeds, installCommand, missingNeeds } from '../buildroot/debian/doctor.ts';
import { Progress } from '../buildroot/debian/progress.ts';

interface Args {
  command: string;
  positional: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(['--explain', '--target', '--scenario', '--scenarios', '--report', '--image', '--lab']);

export function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h') flags.set('--help', true);
    else if (a.startsWith('--')) {
      const [k, v] = a.split('=', 2) as [string, string | undefined];
      if (v !== undefined) flags.set(k, v);
      else if (VALUE_FLAGS.has(k)) {
        const next = argv[++i];
        if (next === undefined) throw new SkiffError(`${k} needs a value`, `e.g. ${k} BR2_LINUX_KERNEL_DEFCONFIG`);
        flags.set(k, next);
      } else flags.set(k, true);
    } else positional.push(a);
  }
  return { command: positional.shift() ?? 'help', positional, flags };
}

const USAGE: Record<string, string> = {
  help: 'skiff [help]\n  The workspace, the selected configuration, every listed layer and the selected layers\' commands.',
  layers: 'skiff layers [--json] [--all]\n  Every layer with its description, dependencies and target architecture.\n  --all also shows unlisted layers (always in --json, flagged "unlisted").',
  boards:
    'skiff boards [--json] [--markdown]\n  Every board and machine layer, each resolved on its own: architecture, bootloader, kernel defconfig,\n  whether the debian backend builds it offline (else what to supply) and how it was boot-tested.\n  --json: one object per board (with the full OFFLINE_BLOCKER); --markdown: the table in the README.',
  configure:
    'skiff configure\n  Resolves SKIFF_CONFIG (or the workspace\'s saved chain) and writes workspaces/<SKIFF_WORKSPACE>/:\n  the merged buildroot/kernel/busybox/uboot/debian configs, overlay order, hooks and stack.json.',
  resolve:
    'skiff resolve [--json] [--explain SYMBOL]\n  The resolved layer order and merged configuration, each symbol with the layer and file that set it last.\n  --explain SYMBOL: who set it, and every earlier value it overrode.',
  compile:
    'skiff compile [--json]\n  Builds the configured workspace into images/out/<workspace>/ with the debian backend: Debian packages\n  (locked in images/debian-lock.json), the kernel from linux-source-6.1, the initramfs, a manifest.\n  Progress goes to stderr; --json prints the manifest on stdout. `skiff configure compile` does both.',
  doctor: 'skiff doctor [--fix]\n  Lists the host tools the selected configuration needs and which are missing; --fix installs them (root).',
  lock: 'skiff lock [--update]\n  Shows the locked Debian packages of the selected configuration; --update resolves them again against the mirror.',
  cmd: 'skiff cmd <namespace>/<layer>/<command>\n  Runs a command a selected layer declares in metadata/commands (make <command> in its extensions/).',
  br: 'skiff br <target>\n  Runs a Buildroot make target in the workspace (buildroot backend).',
  test:
    'skiff test --target v86|qemu|v86-browser [--scenario boot,persist,hostname,power-loss,ssh-keys] [--report DIR] [--image DIR]\nskiff test --lab lab.yaml --target <name> ...\n  Boots the workspace\'s image (or --image) on the target, or a lab file\'s target (a board on a serial\n  console), and runs the harness scenarios, plus --scenarios FILE, the lab file\'s and the layers\'\n  tests/scenarios.ts. --report writes junit.xml and report.md (with the console logs). Exit 1 when one fails.\n  v86-browser boots the image in the playground page in Chromium (run `npm run build` once first).\n  qemu also boots a board whose layer names a QEMU model of it (QEMU_MACHINE), from its card image.',
};

export async function main(argv: string[], ctxIn?: Context): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.flags.has('--help') || (args.command === 'help' && args.positional.length > 0)) {
      const topic = args.command === 'help' ? args.positional[0]! : args.command;
      const text = USAGE[topic];
      if (!text) throw new SkiffError(`unknown command "${topic}"`, `commands: ${Object.keys(USAGE).join(', ')}`);
      process.stdout.write(text + '\n');
      return 0;
    }
    const ctx = ctxIn ?? contextFromEnv();
    switch (args.command) {
      case 'help':
        return help(ctx);
      case 'layers':
        return layers(ctx, args);
      case 'boards':
        return boards(ctx, args);
      case 'configure':
      case 'compile': {
        // `skiff configure compile`, as `make configure compile` upstream.
        const steps = [args.command, ...args.positional];
        const bad = steps.find((s) => s !== 'configure' && s !== 'compile');
        if (bad) throw new SkiffError(`"${bad}" cannot follow ${args.command}`, 'chain only configure and compile, e.g. `skiff configure compile`');
        for (const step of steps) {
          const code = step === 'configure' ? configure(ctx) : await compile(ctx, args);
          if (code !== 0) return code;
        }
        return 0;
      }
      case 'doctor':
        return await doctor(ctx, args);
      case 'test':
        return await (await import('./test.ts')).testCommand(ctx, args.flags);
      case 'lock':
        return await lock(ctx, args);
      case 'resolve':
        return resolve(ctx, args);
      case 'cmd': {
        const spec = args.positional[0];
        if (!spec) throw new SkiffError('skiff cmd needs a command', 'e.g. `skiff cmd virt/qemu/run`; `skiff` lists the selected layers\' commands');
        return runExtensionCommand(ctx, resolveSelection(ctx), spec);
      }
      case 'br':
        throw new SkiffError(
          'the buildroot backend is not available in this checkout yet',
          'use the debian backend (`skiff compile`); the buildroot backend will need Buildroot and network access',
        );
      default:
        throw new SkiffError(`unknown command "${args.command}"`, `commands: ${Object.keys(USAGE).join(', ')}; \`skiff --help\``);
    }
  } catch (err) {
    if (err instanceof SkiffError) {
      process.stderr.write(`skiff: error: ${err.describe()}\n`);
      return 1;
    }
    throw err;
  }
}

function help(ctx: Context): number {
  const catalog = discover(ctx);
  const sel = selectConfig(ctx);
  let resolved;
  try {
    resolved = sel ? resolveSelection(ctx, sel) : undefined;
  } catch (err) {
    if (!(err instanceof SkiffError)) throw err;
    resolved = err;
  }
  process.stdout.write(renderHelp(ctx, catalog, resolved));
  return 0;
}

function layers(ctx: Context, args: Args): number {
  const catalog = discover(ctx);
  const infos = layerInfos(catalog);
  if (args.flags.has('--json')) {
    process.stdout.write(JSON.stringify(infos, null, 2) + '\n');
    return 0;
  }
  const shown = args.flags.has('--all') ? infos : infos.filter((i) => !i.unlisted);
  const w = Math.max(...shown.map((i) => i.id.length), 10) + 2;
  const aw = 9;
  process.stdout.write(`${'LAYER'.padEnd(w)}${'ARCH'.padEnd(aw)}DESCRIPTION\n`);
  for (const i of shown) {
    const deps = i.dependencies.length > 0 ? ` [needs ${i.dependencies.join(',')}]` : '';
    const flag = i.unlisted ? ' (unlisted)' : '';
    process.stdout.write(`${i.id.padEnd(w)}${(i.arch ?? '-').padEnd(aw)}${i.description}${deps}${flag}\n`);
  }
  for (const warn of catalog.warnings) process.stderr.write(`warning: ${warn}\n`);
  return 0;
}

function boards(ctx: Context, args: Args): number {
  const rows = boardRows(ctx);
  if (args.flags.has('--json')) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else process.stdout.write(args.flags.has('--markdown') ? renderMarkdown(rows) : renderText(rows));
  return 0;
}

function configure(ctx: Context): number {
  const sel = selectConfig(ctx);
  if (!sel) {
    throw new SkiffError(
      `SKIFF_CONFIG is empty and workspace "${ctx.workspace}" has no saved configuration`,
      'set SKIFF_CONFIG, e.g. `SKIFF_CONFIG=browser/v86 skiff configure` (`skiff layers` lists the layers)',
    );
  }
  const before = savedChain(ctx);
  const r = resolveSelection(ctx, sel);
  const chain = r.chain.join(',');
  if (sel.from === 'workspace') process.stdout.write(`SKIFF_CONFIG is not set: using workspace "${ctx.workspace}"'s saved configuration ${chain}\n`);
  else if (before && before !== chain) process.stdout.write(`Workspace "${ctx.workspace}" was configured as ${before}; replacing it with ${chain}\n`);
  const dir = writeWorkspace(ctx, r);
  process.stdout.write(`Configured workspace "${ctx.workspace}":\n`);
  for (const l of r.configuration.stack) process.stdout.write(`  ${l.role.padEnd(20)}${l.id}  (${l.dir})\n`);
  process.stdout.write(`Merged configuration written to ${dir}\n`);
  return 0;
}

function resolve(ctx: Context, args: Args): number {
  const r = resolveSelection(ctx);
  const explain = args.flags.get('--explain');
  if (typeof explain === 'string') return explainSymbol(r, explain);
  if (args.flags.has('--json')) {
    process.stdout.write(JSON.stringify(describeResolution(ctx, r), null, 2) + '\n');
    return 0;
  }
  const from = r.selection.from === 'workspace' ? `saved in workspace "${ctx.workspace}"` : 'from SKIFF_CONFIG';
  process.stdout.write(`Resolved stack (${from}):\n`);
  r.configuration.stack.forEach((l, i) => process.stdout.write(`  ${String(i + 1).padStart(2)}. ${l.id.padEnd(28)}${l.role}\n`));
  for (const kind of FRAGMENT_KINDS) {
    const merged = r.configuration.configs[kind];
    if (merged.final.size === 0) continue;
    process.stdout.write(`\n[${kind}]\n`);
    for (const s of merged.final.values()) process.stdout.write(`  ${renderSetting(s)}    # ${s.layer}\n`);
  }
  return 0;
}

function explainSymbol(r: ReturnType<typeof resolveSelection>, symbol: string): number {
  let found = false;
  for (const kind of FRAGMENT_KINDS) {
    const history = r.configuration.configs[kind].history.get(symbol);
    if (!history) continue;
    found = true;
    const last = history[history.length - 1]!;
    const where = (s: typeof last) => (s.line > 0 ? `${s.file}:${s.line}` : `${s.file} from ${s.layer}`);
    process.stdout.write(`${symbol} (${kind}) = ${last.value ?? 'is not set'}\n  set by ${last.layer} at ${where(last)}\n`);
    const earlier = history.slice(0, -1).reverse();
    if (earlier.length === 0) process.stdout.write('  overrides nothing: no earlier layer sets it\n');
    for (const s of earlier) process.stdout.write(`  overrides ${s.value ?? 'is not set'} from ${s.layer} at ${where(s)}\n`);
  }
  if (!found) {
    throw new SkiffError(`no layer in ${r.chain.join(',')} sets ${symbol}`, 'check the spelling (symbols are case sensitive, e.g. BR2_LINUX_KERNEL_DEFCONFIG)');
  }
  return 0;
}

async function compile(ctx: Context, args: Args): Promise<number> {
  const saved = savedChain(ctx);
  if (!saved) throw new SkiffError(`workspace "${ctx.workspace}" is not configured`, 'run `skiff configure` first (with SKIFF_CONFIG set)');
  const sel = selectConfig(ctx)!;
  const r = resolveSelection(ctx, sel);
  if (sel.from === 'workspace') process.stderr.write(`SKIFF_CONFIG is not set: compiling workspace "${ctx.workspace}"'s saved configuration ${saved}\n`);
  else if (r.chain.join(',') !== saved) {
    throw new SkiffError(
      `SKIFF_CONFIG resolves to ${r.chain.join(',')} but workspace "${ctx.workspace}" is configured as ${saved}`,
      'run `skiff configure` to switch the workspace, or unset SKIFF_CONFIG to compile the saved one',
    );
  }
  const manifest = await compileImages(ctx, r);
  if (args.flags.has('--json')) process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
  return 0;
}

async function doctor(ctx: Context, args: Args): Promise<number> {
  const sel = selectConfig(ctx);
  let needs = hostNeeds();
  let scope = 'any build';
  if (sel) {
    const plan = planBuild(resolveSelection(ctx, sel));
    needs = planNeeds(plan);
    scope = `${plan.arch.debian} (${plan.bootMethod})`;
  }
  const missing = missingNeeds(needs);
  process.stdout.write(`Host tools for ${scope}:\n`);
  for (const n of needs) process.stdout.write(`  ${missing.includes(n) ? 'missing' : 'ok     '}  ${n.what.padEnd(30)} ${n.pkg}\n`);
  if (missing.length === 0) {
    process.stdout.write('Everything the build needs is installed.\n');
    return 0;
  }
  if (!args.flags.has('--fix')) {
    process.stdout.write(`Install them with: ${installCommand(missing)}\n(or run \`skiff doctor --fix\` as root)\n`);
    return 1;
  }
  await fixHostTools(missing, (l) => process.stdout.write(l + '\n'));
  const still = missingNeeds(needs);
  if (still.length > 0) throw new SkiffError(`still missing after apt-get: ${still.map((m) => m.pkg).join(', ')}`, 'check the apt output above');
  process.stdout.write('All host tools installed.\n');
  return 0;
}

async function lock(ctx: Context, args: Args): Promise<number> {
  const r = resolveSelection(ctx);
  const plan = planBuild(r);
  const progress = new Progress(1);
  progress.step(`Debian packages for ${plan.arch.debian}`);
  const { packages } = await lockedPackages(ctx, r, plan, progress, args.flags.has('--update'));
  // A board's U-Boot package is locked next to them (taken apart for the card, never installed).
  const boot = plan.card?.bootloader;
  if (boot) packages.push(await lockedBootloader(ctx, plan.arch.debian, boot.pkg, progress, args.flags.has('--update')));
  for (const p of packages) process.stdout.write(`${p.name.padEnd(28)} ${p.version.padEnd(28)} ${p.sha256.slice(0, 16)}\n`);
  return 0;
}
