// A board's bootloader, taken from Debian's u-boot-* package of the board's architecture: the
// files named by the layer, and where on the card each goes (before the first partition).
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../layers/context.ts';
import { SkiffError } from '../../lib/errors.ts';
import { type LockedPackage, TargetApt, fetchPackages } from './apt.ts';
import { readLock, updateLock } from './lock.ts';
import type { Progress } from './progress.ts';
import { extractDeb } from './rootfs.ts';
import { debianSources } from './sources.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface BootloaderBlob {
  /** File name inside the package's /usr/lib/u-boot/<target>/. */
  file: string;
  /** Byte offset on the card. */
  offset: number;
}

export interface BootloaderPlan {
  pkg: string;
  target: string;
  blobs: BootloaderBlob[];
  /** Where the first partition starts: after every blob. */
  bootStart: number;
}

/**
 * Where Debian's own install scripts (u-boot-install-sunxi, u-boot-install-rockchip) and U-Boot's
 * board notes (TI raw MMC mode, i.MX6 SPL) put each package's files; UBOOT_BLOBS overrides.
 */
const DEBIAN_LAYOUTS: Record<string, { blobs: string; bootStart?: string }> = {
  'u-boot-sunxi:armhf': { blobs: 'u-boot-sunxi-with-spl.bin@8K' },
  'u-boot-sunxi:arm64': { blobs: 'sunxi-spl.bin@8K u-boot-sunxi-with-spl.fit.itb@40K' },
  // Rockchip reserves the card up to sector 32768 (loader1, loader2, trust).
  'u-boot-rockchip:arm64': { blobs: 'idbloader.img@32K u-boot.itb@8M', bootStart: '16M' },
  'u-boot-rockchip:armhf': { blobs: 'idbloader.img@32K u-boot.itb@8M', bootStart: '16M' },
  'u-boot-omap:armhf': { blobs: 'MLO@128K u-boot.img@384K' },
  'u-boot-imx:armhf': { blobs: 'SPL@1K u-boot.img@69K' },
};

/** `8K`, `32K`, `8M`, `40960`: a byte offset as the layers write it. */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+)([KM]?)$/.exec(text.trim());
  if (!m) throw new SkiffError(`${what}: "${text}" is not a size`, 'write bytes, or a number with K or M (e.g. 8K, 16M)');
  return Number(m[1]) * (m[2] === 'M' ? MiB : m[2] === 'K' ? KiB : 1);
}

/**
 * Reads UBOOT_PACKAGE, UBOOT_TARGET, UBOOT_BLOBS ("file@offset ...", default from the table above)
 * and BOOT_PARTITION_START from the merged debian/config. Undefined when no bootloader package is named.
 */
export function planBootloader(settings: Record<string, string>, chain: string): BootloaderPlan | undefined {
  const pkg = settings.UBOOT_PACKAGE;
  if (!pkg) return undefined;
  const target = settings.UBOOT_TARGET;
  const known = DEBIAN_LAYOUTS[`${pkg}:${settings.ARCH}`];
  const spec = settings.UBOOT_BLOBS ?? known?.blobs;
  if (!target) throw new SkiffError(`${chain} names the bootloader package ${pkg} but no UBOOT_TARGET`, `set UBOOT_TARGET to the folder of /usr/lib/u-boot/ in ${pkg} that matches the board`);
  if (!spec) throw new SkiffError(`skiff does not know where ${pkg} (${settings.ARCH}) goes on the card, and ${chain} sets no UBOOT_BLOBS`, 'set UBOOT_BLOBS in the family layer, e.g. UBOOT_BLOBS="u-boot-sunxi-with-spl.bin@8K"');
  const blobs = spec.split(/\s+/).filter(Boolean).map((item) => {
    const at = item.lastIndexOf('@');
    if (at <= 0) throw new SkiffError(`UBOOT_BLOBS: "${item}" has no offset`, 'write each as file@offset, e.g. idbloader.img@32K');
    return { file: item.slice(0, at), offset: parseSize(item.slice(at + 1), `UBOOT_BLOBS ${item}`) };
  });
  const bootStart = parseSize(settings.BOOT_PARTITION_START ?? known?.bootStart ?? '1M', 'BOOT_PARTITION_START');
  if (bootStart % MiB !== 0) throw new SkiffError(`BOOT_PARTITION_START=${settings.BOOT_PARTITION_START} is not a whole number of MiB`, 'partitions start on MiB boundaries, e.g. 16M');
  // The MBR is in the first sector: nothing may go there.
  for (const b of blobs) {
    if (b.offset < 512) throw new SkiffError(`UBOOT_BLOBS: ${b.file} at ${b.offset} would overwrite the partition table`, 'give it an offset of at least 8K, as the board\'s boot ROM expects');
  }
  return { pkg, target, blobs, bootStart };
}

/**
 * A package whose files go onto a board's card (a U-Boot build, the Raspberry Pi's GPU firmware),
 * locked per architecture, resolved against the mirror when not yet locked. `component`: the archive
 * component it is in (non-free-firmware for raspi-firmware), added to the build's own apt state only.
 */
export async function lockedBootPackage(
  ctx: Context,
  arch: string,
  pkg: string,
  progress: Progress,
  opts: { forceUpdate?: boolean; component?: string; key?: string } = {},
): Promise<LockedPackage> {
  const key = `${arch}/${pkg}`;
  const known = readLock(ctx).bootloaders?.[key];
  if (known && !opts.forceUpdate) return known;
  const component = opts.component ?? 'main';
  progress.tick(`resolving ${pkg} for ${arch} against the Debian mirror${component === 'main' ? '' : ` (${component})`}`, 0, true);
  const apt = new TargetApt(ctx, arch, undefined, component === 'main' ? ['main'] : ['main', component]);
  await apt.update(progress);
  const found = (await apt.resolve([{ name: pkg, layer: opts.key ?? 'UBOOT_PACKAGE' }])).find((p) => p.name === pkg);
  if (!found) throw new SkiffError(`Debian ${arch} has no package ${pkg}`, `fix ${opts.key ?? 'UBOOT_PACKAGE'} in the board's family layer`);
  await updateLock(ctx, (lock) => {
    lock.bootloaders = { ...lock.bootloaders, [key]: found };
  });
  progress.tick(`images/debian-lock.json: ${key} ${found.version}`, 0, true);
  return found;
}

/** Downloads (or reuses) a locked boot package and unpacks it; returns the unpacked folder. */
export async function unpackBootPackage(ctx: Context, locked: LockedPackage, progress: Progress): Promise<string> {
  const debs = await fetchPackages(ctx, debianSources(ctx.env), [locked], progress);
  return extractDeb(ctx, debs.get(locked.name)!);
}

export interface Bootloader extends BootloaderPlan {
  version: string;
  /** Absolute paths of the blobs, in UBOOT_BLOBS order. */
  files: string[];
}

/** Downloads (or reuses) the package and checks that the blobs exist and fit before the first partition. */
export async function fetchBootloader(ctx: Context, arch: string, plan: BootloaderPlan, progress: Progress): Promise<Bootloader> {
  const locked = await lockedBootPackage(ctx, arch, plan.pkg, progress);
  const dir = await unpackBootPackage(ctx, locked, progress);
  const base = path.join(dir, 'usr/lib/u-boot');
  const targetDir = path.join(base, plan.target);
  if (!fs.existsSync(targetDir)) {
    const have = fs.existsSync(base) ? fs.readdirSync(base).sort() : [];
    throw new SkiffError(
      `Debian's ${plan.pkg} ${locked.version} (${arch}) has no U-Boot target ${plan.target}`,
      `set UBOOT_TARGET to one it has: ${have.join(', ') || 'none'}`,
    );
  }
  const files = plan.blobs.map((b) => {
    const file = path.join(targetDir, b.file);
    if (!fs.existsSync(file)) {
      throw new SkiffError(`${plan.pkg} ${locked.version} has no ${b.file} for ${plan.target}`, `UBOOT_BLOBS may name: ${fs.readdirSync(targetDir).sort().join(', ')}`);
    }
    return file;
  });
  const spans = plan.blobs.map((b, i) => ({ ...b, end: b.offset + fs.statSync(files[i]!).size })).sort((a, b) => a.offset - b.offset);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    const next = spans[i + 1];
    if (next && s.end > next.offset) throw new SkiffError(`UBOOT_BLOBS: ${s.file} (ends at ${s.end}) overlaps ${next.file} (at ${next.offset})`, 'fix the offsets in the family layer');
    if (s.end > plan.bootStart) {
      throw new SkiffError(`${s.file} ends at ${s.end} bytes, past the boot partition's start (${plan.bootStart})`, 'set BOOT_PARTITION_START further out in the family layer (e.g. 16M)');
    }
  }
  return { ...plan, version: locked.version, files };
}
