// The build-to-boot contract: images/out/<workspace>/manifest.json, written by `skiff compile`
// (buildroot/debian/compile.ts) and read by the emulator, the harness, the CLI, the site and bench.
// The schema is the one home of its shape; the type is derived from it.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SkiffError } from '../lib/errors.ts';
import { outRoot } from './paths.ts';

const Output = z.object({ size: z.number(), sha256: z.string() });

/** How QEMU boots the image, from the layers' QEMU_* keys: absent when no QEMU emulates it. */
const Qemu = z.object({
  /** qemu-system-* program (QEMU_BINARY). */
  binary: z.string(),
  /** `-M` (QEMU_MACHINE); absent: the binary's default machine (x86: pc). */
  machine: z.string().optional(),
  /** `-cpu` (QEMU_CPU); absent: the machine's default CPU. */
  cpu: z.string().optional(),
  /** Memory the model insists on, MiB (QEMU_MEMORY): orangepi-pc takes exactly 1 GiB. */
  memoryMB: z.number().int().positive().optional(),
  /** The firmware, when not the machine's own (QEMU_FIRMWARE): `ovmf` is UEFI (Debian's ovmf); x86's own is SeaBIOS. */
  firmware: z.enum(['ovmf']).optional(),
  /** How the board's image is attached (QEMU_DRIVE): `sd` (a card, the default) or `virtio` (a PC's disk, with a virtio NIC). */
  drive: z.enum(['sd', 'virtio']).optional(),
  /** Which serial port is the console, 1 for the first (QEMU_SERIAL): raspi3b's is its second UART. */
  serial: z.number().int().positive().optional(),
  /**
   * A Raspberry Pi card (QEMU_DTB): QEMU cannot run the GPU firmware, so it takes the firmware's
   * part, loading the kernel and initramfs config.txt names, this device tree and cmdline.txt from
   * the card's boot partition.
   */
  dtb: z.string().optional(),
});

/** Debian's OVMF (package ovmf), which `firmware: 'ovmf'` names: its code, and the variable store each machine gets a copy of. */
export const OVMF = { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' };

const BootloaderRecord = z.object({
  pkg: z.string(),
  version: z.string(),
  target: z.string(),
  blobs: z.array(z.object({ file: z.string(), offset: z.number() })),
  bootStart: z.number(),
});

export const ManifestSchema = z.object({
  skiff: z.string(),
  backend: z.literal('debian'),
  sourceDateEpoch: z.number(),
  chain: z.array(z.string()),
  arch: z.string(),
  /** The board family, the namespace of the layer that sets ARCH (`orangepi`, `pi`, `virt`); /etc/skiff/release has it too. */
  family: z.string().optional(),
  bootMethod: z.string(),
  /** Every layer of the stack with the sha256 of each of its files; `path` relative to the checkout. */
  layers: z.array(z.object({ id: z.string(), role: z.string(), path: z.string(), files: z.record(z.string(), z.string()) })),
  /** The kernel built for the image; absent for a root filesystem archive, which runs on its host's kernel. */
  kernel: z.object({ release: z.string(), source: z.string(), sourceVersion: z.string(), defconfig: z.string(), configSha256: z.string(), dropped: z.array(z.string()) }).optional(),
  /**
   * A container or WSL image (BOOT_METHOD=container|wsl): the root filesystem as one archive (a file
   * of `outputs`: rootfs.tar for docker import, rootfs.tar.gz for wsl --import) and the command
   * that takes it in.
   */
  rootfsArchive: z.object({ file: z.string(), importCommand: z.string() }).optional(),
  packages: z.array(z.object({ name: z.string(), version: z.string(), sha256: z.string(), arch: z.string() })),
  hostFiles: z.record(z.string(), z.string()),
  qemu: Qemu.optional(),
  /**
   * Boards and PCs: the card or disk image (a file of `outputs`), the bootloader blobs in front of
   * partition 1 (U-Boot, from Debian), the loader on the boot partition (a PC's rEFInd or syslinux),
   * the firmware on it (a Pi's, from Debian or the folder a variable named), and a VirtualBox copy of the disk.
   */
  board: z
    .object({
      card: z.string(),
      bootloader: BootloaderRecord.optional(),
      loader: z.object({ pkg: z.string(), version: z.string() }).optional(),
      vdi: z.string().optional(),
      /** Firmware on the boot partition: a Debian package, or the folder a variable named. */
      firmware: z.union([z.object({ pkg: z.string(), version: z.string() }), z.object({ folder: z.string(), variable: z.string() })]).optional(),
    })
    .optional(),
  /**
   * Skiff Core: the core image shipped in core/ (a squashfs `file`, or for v86 a 9p `share`:
   * core/fs.json and the files in core/flat/, which `outputs` leaves out) and its Debian packages.
   */
  core: z
    .object({
      image: z.string(),
      packages: z.array(z.string()),
      file: z.string().optional(),
      finishedOnDevice: z.boolean().optional(),
      share: z.object({ fsJson: z.string(), fsJsonGz: z.string(), flat: z.string(), files: z.number(), bytes: z.number() }).optional(),
    })
    .optional(),
  /** Every file of the image folder (but core/flat/) with its size and sha256. */
  outputs: z.record(z.string(), Output),
  warnings: z.array(z.string()),
});

export type Manifest = z.infer<typeof ManifestSchema>;
export type QemuFacts = z.infer<typeof Qemu>;
export type BootloaderRecord = z.infer<typeof BootloaderRecord>;

export const MANIFEST_FILE = 'manifest.json';

/** The command that (re)builds an image folder: its workspace's, when it is one of images/out/. */
function buildCommand(dir: string, config?: string): string {
  const rel = path.relative(outRoot(), path.resolve(dir));
  const workspace = rel && !rel.startsWith('..') && !rel.includes(path.sep) ? rel : undefined;
  const env = [config ? `SKIFF_CONFIG=${config}` : '', workspace && workspace !== 'default' ? `SKIFF_WORKSPACE=${workspace}` : ''].filter(Boolean).join(' ');
  const cmd = `${env ? `${env} ` : ''}skiff configure compile`;
  return workspace ? cmd : `${cmd} (it writes images/out/<workspace>/; pass that folder)`;
}

/**
 * A built image's manifest, checked against the schema. `config` names the layers that build the
 * image the caller expects, for the fix when there is none (e.g. `browser/v86`).
 */
export function readManifest(dir: string, config?: string): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new SkiffError(`no image in ${dir} (no ${MANIFEST_FILE})`, `build one: ${buildCommand(dir, config)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SkiffError(`${file} is not JSON (${(err as Error).message})`, `build the image again: ${buildCommand(dir, config)}`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : '(top level)';
    throw new SkiffError(`${file} is not a skiff image manifest: ${where}: ${issue.message}`, `build the image again (an older skiff may have written it): ${buildCommand(dir, config)}`);
  }
  return parsed.data;
}
