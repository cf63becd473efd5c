// Boot firmware that runs before any kernel and reads the boot partition itself (the Raspberry
// Pi's GPU firmware: bootcode.bin, start*.elf, fixup*.dat), taken from a Debian package the layers
// name, or from a folder a variable names when the user wants another release of it.
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../layers/context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { quoted } from '../../lib/printable.ts';
import { lockedBootPackage, unpackBootPackage } from './bootloader.ts';
import type { Progress } from './progress.ts';

export interface FirmwareFile {
  /** Name in the package's folder (or the override folder). */
  from: string;
  /** Name on the boot partition. */
  to: string;
}

export interface FirmwarePlan {
  pkg: string;
  /** Archive component the package is in (main, non-free-firmware). */
  component: string;
  /** Folder inside the package holding the files (usr/lib/raspi-firmware). */
  folder: string;
  files: FirmwareFile[];
  /** Environment variable naming a folder to take the same files from instead. */
  overrideVariable?: string;
}

/**
 * Reads FIRMWARE_PACKAGE, FIRMWARE_COMPONENT (default main), FIRMWARE_FOLDER, FIRMWARE_FILES
 * ("name" or "name:name-on-card", space-separated) and FIRMWARE_OVERRIDE_VARIABLE from the merged
 * debian/config. Undefined when no layer names a firmware package.
 */
export function planFirmware(settings: Record<string, string>, chain: string): FirmwarePlan | undefined {
  const pkg = settings.FIRMWARE_PACKAGE;
  if (!pkg) {
    const orphan = ['FIRMWARE_FILES', 'FIRMWARE_FOLDER', 'FIRMWARE_COMPONENT'].find((k) => settings[k]);
    if (orphan) throw new SkiffError(`${chain} sets ${orphan} but no FIRMWARE_PACKAGE`, `set FIRMWARE_PACKAGE in the layer that sets ${orphan}`);
    return undefined;
  }
  const folder = (settings.FIRMWARE_FOLDER ?? '').replace(/^\/+|\/+$/g, '');
  if (!folder) throw new SkiffError(`${chain} names the firmware package ${pkg} but no FIRMWARE_FOLDER`, `set FIRMWARE_FOLDER to the folder of ${pkg} holding the files, e.g. usr/lib/raspi-firmware`);
  const files = (settings.FIRMWARE_FILES ?? '').split(/\s+/).filter(Boolean).map((item) => {
    const [from = '', to = from, ...rest] = item.split(':');
    if (!from || !to || rest.length > 0 || to.includes('/') || from.includes('/')) {
      throw new SkiffError(`FIRMWARE_FILES: ${quoted(item)} is not a file name or name:name-on-card`, 'e.g. FIRMWARE_FILES="bootcode.bin start_x.elf:start.elf fixup_x.dat:fixup.dat"');
    }
    return { from, to };
  });
  if (files.length === 0) throw new SkiffError(`${chain} names the firmware package ${pkg} but no FIRMWARE_FILES`, 'the board layer lists the files its boot ROM loads, e.g. FIRMWARE_FILES="start4.elf fixup4.dat"');
  const component = settings.FIRMWARE_COMPONENT || 'main';
  const overrideVariable = settings.FIRMWARE_OVERRIDE_VARIABLE || undefined;
  if (overrideVariable && !/^SKIFF_[A-Z0-9_]+$/.test(overrideVariable)) {
    throw new SkiffError(`FIRMWARE_OVERRIDE_VARIABLE=${overrideVariable} is not a SKIFF_* variable name`, 'e.g. FIRMWARE_OVERRIDE_VARIABLE=SKIFF_RPI_FIRMWARE_DIR');
  }
  return { pkg, component, folder, files, ...(overrideVariable ? { overrideVariable } : {}) };
}

export interface Firmware {
  /** What the files came from, for the manifest: `raspi-firmware 1.20220830+ds-1` or the override folder. */
  source: { pkg: string; version: string } | { folder: string; variable: string };
  /** Absolute path of each file, with its name on the boot partition. */
  files: { path: string; to: string }[];
}

function pick(dir: string, plan: FirmwarePlan, where: string, fix: string): Firmware['files'] {
  return plan.files.map((f) => {
    const p = path.join(dir, f.from);
    if (!fs.existsSync(p)) {
      const have = fs.existsSync(dir) ? fs.readdirSync(dir).sort().join(', ') : 'nothing';
      throw new SkiffError(`${where} has no ${f.from} (it holds: ${have})`, fix);
    }
    return { path: p, to: f.to };
  });
}

/** The firmware files: from the override folder when its variable is set, else from the locked Debian package. */
export async function fetchFirmware(ctx: Context, arch: string, plan: FirmwarePlan, progress: Progress, forceUpdate = false): Promise<Firmware> {
  const override = plan.overrideVariable && ctx.env[plan.overrideVariable];
  if (override) {
    const dir = path.resolve(override);
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new SkiffError(`${plan.overrideVariable}=${quoted(override)} is not a folder`, `point it at a folder holding ${plan.files.map((f) => f.from).join(', ')}, or unset it to use Debian's ${plan.pkg}`);
    }
    progress.tick(`firmware: ${plan.files.map((f) => f.from).join(' ')} from ${dir} (${plan.overrideVariable})`, 0, true);
    return {
      source: { folder: dir, variable: plan.overrideVariable! },
      files: pick(dir, plan, `${plan.overrideVariable}=${dir}`, `put the file there (the firmware repository's boot/ folder has it), or unset ${plan.overrideVariable} to use Debian's ${plan.pkg}`),
    };
  }
  const locked = await lockedBootPackage(ctx, arch, plan.pkg, progress, { forceUpdate, component: plan.component, key: 'FIRMWARE_PACKAGE' });
  const dir = path.join(await unpackBootPackage(ctx, locked, progress), plan.folder);
  progress.tick(`firmware: ${plan.pkg} ${locked.version}`, 0, true);
  return { source: { pkg: plan.pkg, version: locked.version }, files: pick(dir, plan, `Debian's ${plan.pkg} ${locked.version} (${plan.folder})`, 'fix FIRMWARE_FILES or FIRMWARE_FOLDER in the board layer') };
}
