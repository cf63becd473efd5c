// Board facts are layer data: the merged `debian/config` of a stack says how QEMU boots the image
// (QEMU_BINARY, QEMU_MACHINE, QEMU_CPU, QEMU_MEMORY, QEMU_FIRMWARE, QEMU_DRIVE, QEMU_SERIAL, QEMU_DTB) and,
// for a family whose cards `skiff cmd <family>/common/format` writes, which variable names the card and how big its boot partition is
// (CARD_DEVICE_VARIABLE, CARD_FORMAT_BOOT_SIZE). The build records the QEMU facts in the manifest;
// format and install read the card facts from the selected layers.
import { SkiffError } from '../../lib/errors.ts';
import type { QemuFacts } from '../../images/manifest.ts';
import { unquote } from '../layers/fragments.ts';
import type { Resolution } from '../layers/workspace.ts';
import { parseSize } from './bootloader.ts';

const MiB = 1024 * 1024;

/** The merged `debian/config` of a stack: the last value of each key, unquoted. */
export function debianSettings(r: Resolution): Record<string, string> {
  return Object.fromEntries([...r.configuration.configs.debian.final.values()].map((s) => [s.symbol, unquote(s.value) ?? '']));
}

const QEMU_KEYS = ['QEMU_MACHINE', 'QEMU_CPU', 'QEMU_MEMORY', 'QEMU_FIRMWARE', 'QEMU_DRIVE', 'QEMU_SERIAL', 'QEMU_DTB'] as const;
const FIRMWARES = ['ovmf'] as const;
const DRIVES = ['sd', 'virtio'] as const;

/**
 * How QEMU boots the stack's image, or undefined when no layer sets QEMU_BINARY. A stack that boots
 * with BOOT_METHOD=qemu must set it; a board layer sets it when QEMU models the board.
 */
export function qemuFacts(settings: Record<string, string>, chain: string): QemuFacts | undefined {
  const binary = settings.QEMU_BINARY;
  if (!binary) {
    const orphan = QEMU_KEYS.find((k) => settings[k]);
    if (orphan) throw new SkiffError(`${chain} sets ${orphan} but no QEMU_BINARY`, `set QEMU_BINARY (e.g. QEMU_BINARY=qemu-system-arm) in the layer that sets ${orphan}`);
    if (settings.BOOT_METHOD === 'qemu') throw new SkiffError(`${chain} boots in QEMU (BOOT_METHOD=qemu) but no layer sets QEMU_BINARY`, 'set QEMU_BINARY in the machine layer\'s debian/config, e.g. QEMU_BINARY=qemu-system-aarch64');
    return undefined;
  }
  if (!/^qemu-system-[a-z0-9_]+$/.test(binary)) throw new SkiffError(`QEMU_BINARY=${binary} is not a qemu-system-* program`, 'e.g. QEMU_BINARY=qemu-system-x86_64');
  const memory = settings.QEMU_MEMORY;
  if (memory && !/^[1-9]\d*$/.test(memory)) throw new SkiffError(`QEMU_MEMORY=${memory} is not a whole number of MiB`, 'e.g. QEMU_MEMORY=1024');
  const firmware = settings.QEMU_FIRMWARE;
  if (firmware && !(FIRMWARES as readonly string[]).includes(firmware)) throw new SkiffError(`QEMU_FIRMWARE=${firmware} is not a firmware skiff knows`, `use ${FIRMWARES.join(', ')} (UEFI), or leave it unset for the machine's own (SeaBIOS on x86)`);
  const drive = settings.QEMU_DRIVE;
  if (drive && !(DRIVES as readonly string[]).includes(drive)) throw new SkiffError(`QEMU_DRIVE=${drive} is not a way skiff attaches a disk`, `use ${DRIVES.join(' (a card) or ')} (a PC's disk)`);
  const serial = settings.QEMU_SERIAL;
  if (serial && !/^[1-9]$/.test(serial)) throw new SkiffError(`QEMU_SERIAL=${serial} is not the number of a serial port (1 for the first)`, 'e.g. QEMU_SERIAL=2 when the console is the machine\'s second UART');
  const dtb = settings.QEMU_DTB;
  if (dtb) {
    if (settings.BOOT_METHOD !== 'rpi-firmware') throw new SkiffError(`${chain} sets QEMU_DTB, which only a Raspberry Pi card uses (BOOT_METHOD=rpi-firmware)`, 'remove QEMU_DTB: U-Boot boards load their device tree themselves');
    if (!(settings.KERNEL_DTBS ?? '').split(/\s+/).some((d) => d.split('/').pop() === dtb)) {
      throw new SkiffError(`QEMU_DTB=${dtb} is not among the device trees the layers build (KERNEL_DTBS)`, 'name one of KERNEL_DTBS, without its folder');
    }
  } else if (settings.BOOT_METHOD === 'rpi-firmware') {
    throw new SkiffError(`${chain} boots a Raspberry Pi card in QEMU but sets no QEMU_DTB`, 'QEMU does not run the GPU firmware that picks the device tree: name the one for QEMU_MACHINE, e.g. QEMU_DTB=bcm2837-rpi-3-b.dtb');
  }
  return {
    binary,
    ...(settings.QEMU_MACHINE ? { machine: settings.QEMU_MACHINE } : {}),
    ...(settings.QEMU_CPU ? { cpu: settings.QEMU_CPU } : {}),
    ...(memory ? { memoryMB: Number(memory) } : {}),
    ...(firmware ? { firmware: firmware as QemuFacts['firmware'] } : {}),
    ...(drive ? { drive: drive as QemuFacts['drive'] } : {}),
    ...(serial ? { serial: Number(serial) } : {}),
    ...(dtb ? { dtb } : {}),
  };
}

/** What `format` and `install` need to know of a board family's card. */
export interface CardFacts {
  /** The variable naming the card (upstream's PI_SD, ORANGEPI_SD, ...). */
  deviceVariable: string;
  /** The boot partition `format` makes when SKIFF_BOOT_SIZE_MIB does not say otherwise. */
  bootSizeMiB: number;
  /** How the board loads its kernel: `rpi-firmware` also needs the Pi's GPU firmware on the boot partition. */
  bootMethod: string;
}

/** The card facts of a stack; a missing key is named, with the layer to set it in. */
export function cardFacts(settings: Record<string, string>, chain: string): CardFacts {
  const need = (key: string, example: string) => {
    const v = settings[key];
    if (!v) throw new SkiffError(`no layer of ${chain} sets ${key}, which format and install need`, `set it in the board family's common layer (debian/config), e.g. ${key}=${example}`);
    return v;
  };
  const deviceVariable = need('CARD_DEVICE_VARIABLE', 'PI_SD');
  if (!/^[A-Z][A-Z0-9_]*$/.test(deviceVariable)) throw new SkiffError(`CARD_DEVICE_VARIABLE=${deviceVariable} is not a variable name`, 'e.g. CARD_DEVICE_VARIABLE=PI_SD');
  const size = need('CARD_FORMAT_BOOT_SIZE', '1024M');
  const bytes = parseSize(size, 'CARD_FORMAT_BOOT_SIZE');
  if (bytes < 8 * MiB || bytes % MiB !== 0) throw new SkiffError(`CARD_FORMAT_BOOT_SIZE=${size} is not a whole number of MiB of at least 8M`, 'e.g. CARD_FORMAT_BOOT_SIZE=1024M');
  return { deviceVariable, bootSizeMiB: bytes / MiB, bootMethod: settings.BOOT_METHOD ?? 'none' };
}
