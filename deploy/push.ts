// skiff push: a built image onto a running SkiffOS device over SSH, into the boot slot it is not
// running from, so that a failed or cut-off push never leaves a card that boots neither image
// (docs/deploy.md). Everything that can refuse is checked before anything is written; the device's
// own install-slot.sh verifies the slot as read back from the card before naming it to try.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { MAX_TRIES, type Slot, slotDir } from '../images/boot-slots.ts';
import { type Manifest, readManifest } from '../images/manifest.ts';
import { SkiffError } from '../lib/errors.ts';
import { type DeviceInfo, SLOT_INFO_SCRIPT, describeRunning, parseDeviceInfo } from './device-info.ts';
import { HostKeyRefused, SshSession, type SshTarget } from './ssh.ts';

/** Where the device receives the files: RAM, so nothing half-sent reaches the card. */
const STAGE = '/run/skiff-push';
const INSTALL_SCRIPT = '/opt/skiff/scripts/install-slot.sh';
/** The build writes slot a; a push sends those files into whichever slot the device is not using. */
const BUILT_SLOT = `boot/${slotDir('a')}/`;
/** Boots a new slot gets when the user does not say (install-slot.sh's own default is the same). */
export const DEFAULT_TRIES = 3;

export interface PushOptions extends SshTarget {
  /** images/out/<workspace>/ of the build to send. */
  imageDir: string;
  /** Boots the new slot gets before the card falls back to the running one (1 to 9). */
  tries: number;
  /** Reboot the device into the new slot and wait for its SKIFF_READY. */
  reboot: boolean;
  /** How long to wait for the device to come back after the reboot. */
  waitSeconds: number;
  /** Progress and results, one line at a time (the CLI gives stderr). */
  log: (line: string) => void;
}

export interface PushResult {
  before: DeviceInfo;
  /** The slot written. */
  slot: Slot;
  /** The device after the reboot (with --reboot). */
  after?: DeviceInfo;
}

interface SlotFile {
  /** Path inside the slot, e.g. dtbs/sun8i-h2-plus-orangepi-zero.dtb. */
  name: string;
  file: string;
  size: number;
  sha256: string;
}

const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** The build's slot files, checked against its manifest: what was built is what is sent. */
export function slotFiles(imageDir: string, manifest: Manifest): SlotFile[] {
  const files = Object.entries(manifest.outputs)
    .filter(([name]) => name.startsWith(BUILT_SLOT))
    .map(([name, o]) => ({ name: name.slice(BUILT_SLOT.length), file: path.join(imageDir, name), size: o.size, sha256: o.sha256 }));
  if (files.length === 0) {
    throw new SkiffError(
      `the build in ${imageDir} (${manifest.chain.join(',')}) has no boot slots: skiff push writes the slot a device is not running from, and this card has one set of boot files`,
      'push a build of a board whose layers set BOOT_SLOTS=ab (the Orange Pi layers do); for others, write the card with the board\'s install command',
    );
  }
  for (const f of files) {
    const actual = fs.existsSync(f.file) ? crypto.createHash('sha256').update(fs.readFileSync(f.file)).digest('hex') : 'missing';
    if (actual !== f.sha256) throw new SkiffError(`${f.file} is ${actual === 'missing' ? 'missing' : 'not the file the build wrote (its sha256 differs from manifest.json)'}: nothing was sent`, 'build the image again with `skiff compile`');
  }
  return files;
}

/** The checks against the running device; each refusal names what differs and what to do. */
export function checkDevice(manifest: Manifest, files: SlotFile[], info: DeviceInfo, device: string): Slot {
  const build = `this build (${manifest.chain.join(',')})`;
  if (!info.arch || !info.family) {
    throw new SkiffError(`${device} does not say its architecture and board family (an image from before skiff push): nothing was sent`, 'write a current build to its card once with the board\'s install command; later upgrades can be pushed');
  }
  if (info.arch !== manifest.arch) {
    throw new SkiffError(`${build} is for ${manifest.arch}, but ${device} runs ${info.arch} (SKIFF_CONFIG=${info.config}): nothing was sent`, `build for that board (SKIFF_CONFIG=${info.config}) and push that, or push this build to a ${manifest.arch} board`);
  }
  if (info.family !== manifest.family) {
    throw new SkiffError(`${build} is for the ${manifest.family} family, but ${device} is a ${info.family} board (SKIFF_CONFIG=${info.config}): nothing was sent`, `build for that board (SKIFF_CONFIG=${info.config}) and push that`);
  }
  if (info.ready !== 'yes') throw new SkiffError(`${device} has not finished booting (no SKIFF_READY yet): nothing was sent`, 'wait until it is up, then push again');
  if (info.boot === 'unmounted') throw new SkiffError(`${device} cannot mount its boot partition: nothing was sent`, 'see its console for the reason (`skiff: boot slots: ...`)');
  if (info.slot === 'none' || info.good === undefined) {
    throw new SkiffError(`${device}'s card has one image slot (it was written before BOOT_SLOTS=ab, or by another tool): nothing was sent`, 'write this build to its card once with the board\'s install command; later upgrades can be pushed');
  }
  if (info.slot !== info.good) {
    // The slot a push writes is the one that is not good: here, the running one.
    throw new SkiffError(
      `${device} runs slot ${info.slot}, but its card names slot ${info.good} as the good one (this boot did not confirm, or slot ${info.good} could not be loaded): a push would overwrite the running image, so nothing was sent`,
      `see its console for \`skiff: boot slot\` lines; reboot it onto slot ${info.good}, or write the card once with the board's install command`,
    );
  }
  const target: Slot = info.good === 'a' ? 'b' : 'a';
  // The other slot's folder is replaced, so its room counts; each file may round up to a cluster.
  const needKib = files.reduce((n, f) => n + Math.ceil(f.size / 1024) + 4, 4);
  const roomKib = (info.free_kib ?? 0) + (info[`slot_${target}_kib`] ?? 0);
  if (needKib >= roomKib) {
    throw new SkiffError(`slot ${target} needs ${needKib} KiB, but ${device}'s boot partition has room for ${roomKib} KiB: nothing was sent`, 'make the boot partition larger (CARD_BOOT_SIZE) and write the card once with the board\'s install command');
  }
  return target;
}

/** What the device says about its running image and its card (slot-info.sh). */
export async function readInfo(session: SshSession): Promise<DeviceInfo> {
  const r = await session.run(SLOT_INFO_SCRIPT);
  if (r.exitCode === 127) {
    throw new SkiffError(`${session.name} has no ${SLOT_INFO_SCRIPT} (an image from before skiff push): nothing was sent`, 'write a current build to its card once with the board\'s install command; later upgrades can be pushed');
  }
  if (r.exitCode !== 0) throw new SkiffError(`${SLOT_INFO_SCRIPT} on ${session.name} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
  return parseDeviceInfo(r.stdout, session.name);
}

/** A tar stream of the slot's files and their SHA256SUMS, counted as it goes for the progress lines. */
function slotArchive(imageDir: string, files: SlotFile[], dir: string, onBytes: (n: number) => void) {
  fs.writeFileSync(path.join(dir, 'SHA256SUMS'), files.map((f) => `${f.sha256}  ${f.name}`).join('\n') + '\n');
  const tar = execa('tar', ['-c', '-f', '-', '--format=ustar', '--owner=0', '--group=0', '--numeric-owner', '-C', path.join(imageDir, BUILT_SLOT), ...files.map((f) => f.name), '-C', dir, 'SHA256SUMS'], { stdout: 'pipe', buffer: false });
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      onBytes(sent);
      done(null, chunk);
    },
  });
  pipeline(tar.stdout, counter).catch(() => undefined);
  return { stream: counter, tar };
}

export async function push(o: PushOptions): Promise<PushResult> {
  if (!Number.isInteger(o.tries) || o.tries < 1 || o.tries > MAX_TRIES) {
    throw new SkiffError(`--tries ${o.tries} is not a whole number from 1 to ${MAX_TRIES}`, `e.g. --tries ${DEFAULT_TRIES} (U-Boot's setexpr counts in hex, so one digit)`);
  }
  // The destination and key first: bad input is refused before anything is read or reached.
  const session = new SshSession(o);
  const manifest = readManifest(o.imageDir);
  const files = slotFiles(o.imageDir, manifest);
  if (!manifest.family) throw new SkiffError(`${o.imageDir}/manifest.json does not name the board family (built before skiff push)`, 'build the image again with `skiff compile`');
  const before = await readInfo(session);
  const slot = checkDevice(manifest, files, before, session.name);
  o.log(`${session.name} runs ${describeRunning(before)}`);

  const total = files.reduce((n, f) => n + f.size, 0);
  o.log(`sending ${files.length} files (${MB(total)}) to ${session.name}:${STAGE}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-push-'));
  try {
    const started = Date.now();
    let last = started;
    const archive = slotArchive(o.imageDir, files, tmp, (sent) => {
      if (Date.now() - last < 2000) return;
      last = Date.now();
      o.log(`  sent ${MB(Math.min(sent, total))} of ${MB(total)} (${Math.min(100, Math.round((100 * sent) / total))}%)`);
    });
    try {
      await Promise.all([
        session.check(`rm -rf ${STAGE} && mkdir -p ${STAGE} && tar -x -f - -C ${STAGE}`, 'receiving the image', archive.stream),
        archive.tar.catch((err: { shortMessage?: string }) => {
          throw new SkiffError(`packing the image for ${session.name} failed: ${err.shortMessage ?? String(err)}`, 'build the image again with `skiff compile`');
        }),
      ]);
    } finally {
      // When ssh fails first, tar would wait forever on a pipe nobody reads.
      archive.tar.kill();
    }
    o.log(`  sent in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  o.log(`writing slot ${slot} on the card and checking it against SHA256SUMS read back from it`);
  const installed = await session.run(`${INSTALL_SCRIPT} ${STAGE} ${o.tries}; rc=$?; rm -rf ${STAGE}; exit $rc`);
  if (installed.exitCode !== 0) {
    throw new SkiffError(`${session.name} did not install the image: ${(installed.stderr || installed.stdout).trim()}`, `the card still boots slot ${before.good} as before; push again`);
  }
  const wrote = /^slot ([ab])$/m.exec(installed.stdout)?.[1];
  if (wrote !== slot) throw new SkiffError(`${session.name}'s install-slot.sh wrote slot ${wrote ?? '(none named)'}, not slot ${slot} as checked: ${installed.stdout.trim()}`, 'see its console; the good slot was not written');
  o.log(`slot ${slot} written and verified; the next boot tries it (${o.tries} ${o.tries === 1 ? 'try' : 'tries'}, then slot ${before.good} again)`);
  if (!o.reboot) {
    o.log(`reboot ${session.name} to run it (or push with --reboot)`);
    return { before, slot };
  }

  o.log(`rebooting ${session.name}`);
  // Detached (busybox has setsid, not nohup) and delayed, so that this SSH session ends cleanly
  // before the device goes down; a session cut by the reboot anyway is not a failure.
  await session.run('setsid sh -c "sleep 1; reboot" > /dev/null 2>&1 < /dev/null &').catch((err: unknown) => {
    if (!(err instanceof SkiffError) || err instanceof HostKeyRefused) throw err;
  });
  const after = await waitForReboot(session, before, o);
  if (after.slot === slot && after.good !== slot) {
    throw new SkiffError(
      `${session.name} runs the new slot ${slot} but did not confirm it (its card still names slot ${after.good ?? '?'} as good), so the next boot may go back`,
      'see its console for `skiff: boot slot` lines (the boot partition could not be written?)',
    );
  }
  if (after.slot !== slot) {
    throw new SkiffError(
      `${session.name} came back running ${describeRunning(after)}, not the new slot ${slot}: the new image did not come up and confirm within its tries, so the card went back to slot ${after.good ?? before.good}`,
      'see the device\'s console for why the new image failed; the old one runs as before',
    );
  }
  o.log(`${session.name} runs ${describeRunning(after)} (was ${describeRunning(before)})`);
  return { before, slot, after };
}

/** Polls until the device answers from a new boot (another boot_id) that has reached SKIFF_READY. */
async function waitForReboot(session: SshSession, before: DeviceInfo, o: PushOptions): Promise<DeviceInfo> {
  const started = Date.now();
  let lastSaid = started;
  let lastError = '';
  while (Date.now() - started < o.waitSeconds * 1000) {
    await sleep(3000);
    if (Date.now() - lastSaid >= 15_000) {
      lastSaid = Date.now();
      o.log(`  waiting for ${session.name} to come back (${Math.round((Date.now() - started) / 1000)} s)`);
    }
    // Down, booting, or still the old boot: asked again until a new boot answers ready.
    const info = await readInfo(session).catch((err: unknown) => {
      if (!(err instanceof SkiffError) || err instanceof HostKeyRefused) throw err;
      lastError = err.message;
      return undefined;
    });
    if (info && info.boot_id !== before.boot_id && info.ready === 'yes') {
      o.log(`  back after ${Math.round((Date.now() - started) / 1000)} s`);
      return info;
    }
  }
  throw new SkiffError(
    `${session.name} did not come back within ${o.waitSeconds} s of the reboot${lastError ? ` (last: ${lastError})` : ''}`,
    `a new image that hangs is not restarted by itself yet (no watchdog): power-cycle the device; each boot counts one of its ${o.tries} tries, then the card boots slot ${before.good} again. --wait gives a slow board longer`,
  );
}
