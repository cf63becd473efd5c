// Board `format` and `install`: writing an SD card (or an image file) with upstream's layout, a FAT
// boot partition and an ext4 `persist` partition. Every check runs and the plan is shown before
// anything is written (disk-safety.ts), then card-write.ts writes it.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { SkiffError } from '../../lib/errors.ts';
import { type BootFile, type BootloaderLayout, bootloaderFiles, bootSources, builtBootloader, type CardSpec, formatBytes, imagesDirOf, isDir, type Layout, MiB, planLayout } from './card-layout.ts';
import {
  copyBootFiles,
  debugfsHas,
  debugfsRead,
  FAT_TYPES,
  flush,
  holdsFat,
  makeFat,
  makePersist,
  type PartitionSpan,
  type PersistFile,
  persistDevice,
  readPartitions,
  replayJournal,
  type Tools,
  writeBootloader,
  writeIntoPersist,
  writeTable,
} from './card-write.ts';
import { type Action, type DiskSeams, recheckTarget, resolveTarget, type Target, yes } from './disk-safety.ts';
import { CARD_NEEDS, findProgram, requireHostTools } from './doctor.ts';
import type { BootloaderRecord } from '../../images/manifest.ts';

export interface FlashOptions {
  env?: NodeJS.ProcessEnv;
  /** Test seams; the defaults are the running system's. */
  procMounts?: string;
  procSwaps?: string;
  sysDir?: string;
  /** Its file system's device is the host's root disk. */
  rootPath?: string;
  /** Whether a person can answer; defaults to stdin being a terminal. */
  interactive?: boolean;
  /** Asks y/N; defaults to a prompt on the terminal. */
  confirm?: (question: string) => Promise<boolean>;
  log?: (line: string) => void;
  /** The bootloader to write; default: the one the manifest of the build in the images folder records. */
  bootloader?: BootloaderLayout;
}

interface Seams extends DiskSeams {
  log: (line: string) => void;
}

function seams(opts: FlashOptions): Seams {
  return {
    env: opts.env ?? process.env,
    procMounts: opts.procMounts ?? '/proc/mounts',
    procSwaps: opts.procSwaps ?? '/proc/swaps',
    sysDir: opts.sysDir ?? '/sys',
    rootPath: opts.rootPath ?? '/',
    log: opts.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
}

/** The card tools for `action` (doctor's checker), and the optional ones that are installed. */
function cardTools(action: Action, env: NodeJS.ProcessEnv): Tools {
  const tools = requireHostTools(CARD_NEEDS[action], env, false);
  for (const extra of ['mdir', 'minfo', 'debugfs', 'e2fsck']) {
    const p = findProgram(extra, env);
    if (p) tools[extra] = p;
  }
  return tools;
}

/** Everything a write needs, settled before anything is written. */
export interface FlashPlan {
  action: Action;
  card: CardSpec;
  target: Target;
  layout?: Layout;
  /** For install: the existing boot and persist partitions. */
  boot?: PartitionSpan;
  persist?: PartitionSpan;
  sources: { dir: string; what: string; files: BootFile[] }[];
  bootloader?: BootloaderLayout;
  /** Skiff Core's image files to write onto persist (see coreImageFiles): all of them for format; for install, the ones persist lacks. */
  core: PersistFile[];
  /** For install: persist's files the new image replaces, and whether its journal must be replayed before debugfs writes. */
  coreReplaces: string[];
  coreReplay: boolean;
  tools: Tools;
  summary: string;
}

/**
 * Skiff Core's image the build ships (core/*.squashfs with its .sha256): on the card's persist it is
 * as if imported, since a board has no disk to import it from; the board finishes it on first use.
 */
export function coreImageFiles(imagesDir: string): PersistFile[] {
  const dir = path.join(imagesDir, 'core');
  if (!isDir(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.squashfs') && fs.existsSync(path.join(dir, `${f}.sha256`)))
    .sort()
    .flatMap((f) => [f, `${f}.sha256`].map((name) => ({ from: path.join(dir, name), to: `skiff/core/images/${name}` })));
}

const filesSize = (files: PersistFile[]) => files.reduce((n, f) => n + fs.statSync(f.from).size, 0);

/**
 * Which of the build's core images an existing persist lacks: an image is there when its .sha256
 * (imported, not finished yet) or its finished marker (the board finished it and deleted the
 * squashfs) names this build's sha256. The rest is written, if it fits in persist's free space.
 */
function coreForInstall(shipped: PersistFile[], device: string, tools: Tools, card: CardSpec): { core: PersistFile[]; coreReplaces: string[]; coreReplay: boolean } {
  const debugfs = tools.debugfs!;
  const stats = debugfsRead(debugfs, device, 'stats');
  const free = Number(/^Free blocks:\s+(\d+)/m.exec(stats)?.[1] ?? NaN) * Number(/^Block size:\s+(\d+)/m.exec(stats)?.[1] ?? NaN);
  if (!Number.isFinite(free)) throw new SkiffError(`partition 2 holds no ext4 file system debugfs can read`, `format the card (this erases persist): ${card.deviceVariable}=... skiff cmd ${card.layer}/format`);
  const core: PersistFile[] = [];
  const coreReplaces: string[] = [];
  for (const image of shipped.filter((f) => f.to.endsWith('.squashfs'))) {
    const sha = fs.readFileSync(`${image.from}.sha256`, 'utf8').trim();
    const base = image.to.replace(/\.squashfs$/, '');
    const onPersist = [`${image.to}.sha256`, `${base}.rootfs.finished`].map((f) => debugfsRead(debugfs, device, `cat /${f}`).trim());
    if (onPersist.includes(sha)) continue;
    const pair = shipped.filter((f) => f.to === image.to || f.to === `${image.to}.sha256`);
    core.push(...pair);
    for (const f of pair) if (debugfsHas(debugfs, device, f.to)) coreReplaces.push(f.to);
  }
  const size = filesSize(core);
  if (size > free * 0.9) {
    throw new SkiffError(`Skiff Core's new image (${formatBytes(size)}) does not fit the ${formatBytes(free)} free on persist: nothing written`, "free room on persist (the board's /mnt/persist), or format a larger card");
  }
  const coreReplay = core.length > 0 && /^Filesystem features:.*\bneeds_recovery\b/m.test(stats);
  if (coreReplay && !tools.e2fsck) throw new SkiffError("persist's journal needs replaying and e2fsck is not found", 'install e2fsprogs: apt-get install e2fsprogs');
  return { core, coreReplaces, coreReplay };
}

/** Runs every check and describes what would be written; writes nothing. */
export function plan(card: CardSpec, action: Action, opts: FlashOptions = {}): FlashPlan {
  const s = seams(opts);
  const target = resolveTarget(card, action, s);
  const tools = cardTools(action, s.env);
  const sources = bootSources(card, s.env);
  const bytes = sources.reduce((n, src) => n + src.files.reduce((m, f) => m + f.size, 0), 0);
  const count = sources.reduce((n, src) => n + src.files.length, 0);

  const what = target.kind === 'block' ? `${target.disk!.model ?? 'unknown model'}, ${target.disk!.removable ? 'removable' : target.disk!.sdCard ? 'SD card' : 'NOT removable (SKIFF_FORCE=yes)'}` : 'image file';
  const lines = [`${action === 'format' ? 'Format' : 'Install to'} ${target.given}${target.path !== target.given ? ` (${target.path})` : ''}: ${formatBytes(target.size)}, ${what}`];
  const current = readPartitions(target, tools.sfdisk!);
  if (current && current.length > 0) {
    lines.push(`  partitions now: ${current.map((p) => `${p.number}: ${formatBytes(p.size)} type ${p.type}`).join('; ')}`);
  } else if (target.disk && target.disk.partitions.length > 0) {
    lines.push(`  partitions now: ${target.disk.partitions.map((p) => p.name).join(', ')}`);
  }

  let layout: Layout | undefined;
  let persistLine = -1;
  let boot: PartitionSpan | undefined;
  let persist: PartitionSpan | undefined;
  const bootloader = opts.bootloader ?? builtBootloader(s.env);
  const formatIt = `format it first (this erases it): ${card.deviceVariable}=${target.given} skiff cmd ${card.layer}/format`;
  if (action === 'format') {
    layout = planLayout(card, target.size, s.env, bootloader?.bootStart);
    lines.push(
      `  new ${layout.table === 'gpt' ? 'GPT' : 'MBR'} partition table:`,
      `    1  boot     ${layout.fat32 ? 'FAT32' : 'FAT16'} "${layout.bootLabel}"  ${formatBytes(layout.bootSize)} at ${formatBytes(layout.bootOffset)}`,
      `    2  persist  ext4 "persist"  ${formatBytes(layout.persistSize)} at ${formatBytes(layout.persistOffset)}`,
      `  EVERYTHING on ${target.given} is erased, persist included.`,
    );
  } else {
    boot = current?.find((p) => p.number === 1);
    persist = current?.find((p) => p.number === 2);
    if (!boot || !FAT_TYPES.has(boot.type)) {
      throw new SkiffError(`${target.given} has no FAT boot partition 1${boot ? ` (partition 1 has type ${boot.type})` : current ? '' : ' (no partition table)'}`, formatIt);
    }
    if (!holdsFat(target, boot, tools, s.env)) throw new SkiffError(`partition 1 of ${target.given} holds no FAT file system`, formatIt);
    const blobsEnd = Math.max(0, ...(bootloader?.blobs ?? []).map((b) => b.offset + b.size));
    if (boot.offset < blobsEnd) {
      throw new SkiffError(
        `partition 1 of ${target.given} starts at ${formatBytes(boot.offset)}, but this board's bootloader needs the card up to ${formatBytes(blobsEnd)}`,
        `format it for this board (this erases it): ${card.deviceVariable}=${target.given} skiff cmd ${card.layer}/format`,
      );
    }
    lines.push(`  writes partition 1 (boot, ${formatBytes(boot.size)}); ${persist ? `partition 2 (persist, ${formatBytes(persist.size)}) is not touched` : 'no other partition is touched'}`);
    persistLine = lines.length - 1;
  }
  for (const b of bootloader?.blobs ?? []) lines.push(`  bootloader: ${b.file} (${formatBytes(b.size)}) at ${formatBytes(b.offset)}, before partition 1`);
  const room = layout ? layout.bootSize : boot!.size;
  // The file system's own tables take a few percent; a near-full partition fails half-way in mcopy.
  if (bytes > room * 0.9) {
    throw new SkiffError(
      `the boot files (${formatBytes(bytes)}) do not fit the ${formatBytes(room)} boot partition`,
      action === 'format' ? 'set SKIFF_BOOT_SIZE_MIB to a larger boot partition' : `format with a larger boot partition: SKIFF_BOOT_SIZE_MIB=... skiff cmd ${card.layer}/format`,
    );
  }
  const shipped = coreImageFiles(imagesDirOf(s.env));
  if (shipped.length && !tools.debugfs) throw new SkiffError("debugfs not found (it writes Skiff Core's image onto persist)", 'install e2fsprogs: apt-get install e2fsprogs');
  let core = shipped;
  let coreReplaces: string[] = [];
  let coreReplay = false;
  if (shipped.length && action === 'format') {
    const size = filesSize(core);
    if (size > layout!.persistSize * 0.8) throw new SkiffError(`Skiff Core's image (${formatBytes(size)}) does not fit the ${formatBytes(layout!.persistSize)} persist partition`, 'use a larger card, or a smaller boot partition (SKIFF_BOOT_SIZE_MIB)');
    lines.push(`  persist: Skiff Core's image ${core.map((f) => path.basename(f.from)).join(', ')} (${formatBytes(size)}), finished by the board on first use`);
  } else if (shipped.length && persist) {
    // An upgrade: a board has no disk to import a changed image from, so it goes onto persist now.
    ({ core, coreReplaces, coreReplay } = coreForInstall(shipped, persistDevice(target, persist), tools, card));
    if (core.length) {
      const size = filesSize(core);
      lines[persistLine] = `  writes partition 1 (boot, ${formatBytes(boot!.size)}); on partition 2 (persist, ${formatBytes(persist.size)}) only Skiff Core's image`;
      lines.push(`  persist: Skiff Core's image changed: writes ${core.map((f) => path.basename(f.from)).join(', ')} (${formatBytes(size)}), finished by the board on first use; nothing else on persist changes`);
      if (coreReplay) lines.push("  persist: its journal is replayed first (e2fsck -p), as the board's boot would");
    } else {
      lines.push("  persist: Skiff Core's image there is this build's already");
    }
  }
  lines.push(`  boot files: ${count} (${formatBytes(bytes)})`);
  for (const src of sources) {
    const names = src.files.map((f) => f.rel);
    const shown = names.length > 12 ? [...names.slice(0, 12), `... ${names.length - 12} more`] : names;
    lines.push(`    from ${src.dir} (${src.what}): ${shown.join(', ')}`);
  }
  return { action, card, target, layout, boot, persist, sources, bootloader, core, coreReplaces, coreReplay, tools, summary: lines.join('\n') };
}

async function askOnTerminal(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Shows the plan and gets a yes: from SKIFF_YES, or from a person at the terminal. */
async function confirmPlan(p: FlashPlan, opts: FlashOptions, s: Seams): Promise<void> {
  s.log(p.summary);
  // SKIFF_NO_INTERACTIVE is upstream's name for the same consent.
  if (yes(s.env.SKIFF_YES) || yes(s.env.SKIFF_NO_INTERACTIVE)) return;
  const interactive = opts.interactive ?? Boolean(process.stdin.isTTY);
  if (!interactive) {
    throw new SkiffError(
      `not writing ${p.target.given}: nobody at a terminal to confirm, and SKIFF_YES is not set`,
      `run it from a terminal, or confirm up front with SKIFF_YES=yes (upstream's SKIFF_NO_INTERACTIVE=1 also works)`,
    );
  }
  const ok = await (opts.confirm ?? askOnTerminal)(`${p.action === 'format' ? 'Erase and format' : 'Write the boot files to'} ${p.target.given}? [y/N] `);
  if (!ok) throw new SkiffError(`not writing ${p.target.given}: not confirmed`, 'answer y to go ahead');
}

/** Partition table, FAT boot, ext4 persist, then the boot files. Erases the whole target. */
export async function format(card: CardSpec, opts: FlashOptions = {}): Promise<void> {
  const s = seams(opts);
  const p = plan(card, 'format', opts);
  await confirmPlan(p, opts, s);
  recheckTarget(card, 'format', p.target, s);
  const [boot, persist] = writeTable(p.target, p.layout!, p.tools, s.log);
  makeFat(p.target, boot, p.layout!, p.tools, s.env, s.log);
  makePersist(p.target, persist, p.tools, s.log);
  if (p.core.length) writeIntoPersist(p.target, persist, p.core, p.tools, s.log);
  // A desktop may automount the fresh partitions: check again before mtools writes behind its back.
  resolveTarget(card, 'format', s);
  copyBootFiles(p.target, boot, p.sources, p.tools, s.env, s.log);
  writeBootloader(p.target, p.bootloader, s.log);
  flush(p.target);
  s.log(`done: ${p.target.given} is formatted and holds the boot files`);
}

/** Writes the boot files to partition 1 and the bootloader in front of it; persist is only opened to bring Skiff Core's image up to date. */
export async function install(card: CardSpec, opts: FlashOptions = {}): Promise<void> {
  const s = seams(opts);
  const p = plan(card, 'install', opts);
  await confirmPlan(p, opts, s);
  recheckTarget(card, 'install', p.target, s);
  if (p.core.length) {
    if (p.coreReplay) replayJournal(p.target, p.persist!, p.tools, s.log);
    writeIntoPersist(p.target, p.persist!, p.core, p.tools, s.log, p.coreReplaces);
  }
  copyBootFiles(p.target, p.boot!, p.sources, p.tools, s.env, s.log);
  writeBootloader(p.target, p.bootloader, s.log);
  flush(p.target);
  s.log(`done: boot files installed on ${p.target.given}; ${p.core.length ? "Skiff Core's new image written to persist, nothing else there changed" : 'persist untouched'}`);
}

/**
 * A whole card (or a PC's disk) as an image file (what genimage would make): the same table, file
 * systems, boot files and bootloader as `format` writes to a card, from the build in `imagesDir`.
 */
export async function writeCardImage(
  file: string,
  card: { imagesDir: string; sizeMiB: number; bootSizeMiB: number; config: string; bootMethod: string; bootloader?: Pick<BootloaderRecord, 'bootStart' | 'blobs'> },
  log: (line: string) => void,
): Promise<void> {
  const { imagesDir, sizeMiB, bootSizeMiB, config, bootMethod } = card;
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, '');
  fs.truncateSync(file, sizeMiB * MiB);
  const spec: CardSpec = { deviceVariable: 'SKIFF_CARD_IMAGE', bootSizeMiB, bootMethod, layer: 'the board layer', config };
  const env = { ...process.env, SKIFF_IMAGES_DIR: imagesDir, SKIFF_CARD_IMAGE: file, SKIFF_YES: 'yes', SKIFF_BOOT_SIZE_MIB: String(bootSizeMiB) };
  // The manifest is written after the card: the build hands its bootloader over directly.
  await format(spec, { env, log, interactive: false, bootloader: card.bootloader && bootloaderFiles(imagesDir, card.bootloader) });
}
