import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type Manifest, OVMF, readManifest } from '../images/manifest.ts';
import { SkiffError } from '../lib/errors.ts';
import type { SerialPort } from './console.ts';
import { readRpiBootFiles, rpiBootArgs } from './rpi-boot.ts';

export interface QemuOptions {
  /** images/out/<workspace>/ of a build whose layers say how QEMU boots it (QEMU_BINARY: virt/qemu*, orangepi). */
  imageDir: string;
  /** Raw persist disk file, created blank (sparse) when missing; for a board, the copy of its card. */
  disk: string;
  diskBytes?: number;
  memoryMB?: number;
  /** Host port on 127.0.0.1 forwarded to the guest's SSH server. */
  sshPort?: number;
}

/** A free TCP port on 127.0.0.1, for hostfwd. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Skiff Core: the shipped core image as a read-only disk the guest finds by its serial and imports. */
function coreDiskArgs(manifest: Manifest, imageDir: string): string[] {
  if (!manifest.core?.file) return [];
  const file = path.join(imageDir, manifest.core.file);
  return ['-drive', `file=${file},if=none,id=core,format=raw,readonly=on`, '-device', 'virtio-blk-pci,drive=core,serial=skiffcore'];
}

/** A QEMU machine image (virt/qemu*): kernel and initramfs given to QEMU, persist on a virtio disk. */
function virtArgs(manifest: Manifest, options: QemuOptions, fwd: string): string[] {
  const kernel = ['bzImage', 'Image', 'zImage'].find((k) => manifest.outputs[k]);
  if (!kernel) throw new SkiffError(`${options.imageDir} has no kernel image (bzImage, Image or zImage) in its manifest's outputs`, 'build the image again: skiff configure compile');
  if (!fs.existsSync(options.disk)) {
    fs.mkdirSync(path.dirname(options.disk), { recursive: true });
    fs.writeFileSync(options.disk, '');
    fs.truncateSync(options.disk, options.diskBytes ?? 256 * 1024 * 1024);
  }
  return [
    '-kernel', path.join(options.imageDir, kernel),
    '-initrd', path.join(options.imageDir, 'initramfs.cpio.zst'),
    '-drive', `file=${options.disk},if=virtio,format=raw`,
    '-netdev', `user,id=net0${fwd}`, '-device', 'virtio-net-pci,netdev=net0',
    '-device', 'virtio-rng-pci',
    ...coreDiskArgs(manifest, options.imageDir),
  ];
}

/**
 * A board or PC image booted as the machine would: QEMU's model of the board (or its SoC) reads
 * the whole card, its boot ROM runs U-Boot's SPL from the card, and U-Boot loads the boot
 * partition; a PC's firmware (SeaBIOS, or OVMF for UEFI) boots its disk. The image is copied once
 * to `disk`, so the built one stays pristine and persist lives in the copy; so is OVMF's variable
 * store, which the firmware writes.
 */
/** Refuses an image whose firmware this machine lacks, before a disk is copied or QEMU started. */
export function checkQemuFirmware(qemu: Manifest['qemu']): void {
  if (qemu?.firmware !== 'ovmf') return;
  for (const f of [OVMF.code, OVMF.vars]) if (!fs.existsSync(f)) throw new SkiffError(`${f} is missing: the image boots with UEFI (QEMU_FIRMWARE=ovmf)`, 'install it: apt-get install ovmf (skiff doctor --fix does)');
}

function boardArgs(card: string, qemu: NonNullable<Manifest['qemu']>, options: QemuOptions, fwd: string): string[] {
  checkQemuFirmware(qemu);
  if (!fs.existsSync(options.disk)) {
    fs.mkdirSync(path.dirname(options.disk), { recursive: true });
    fs.copyFileSync(path.join(options.imageDir, card), options.disk);
  }
  const firmware: string[] = [];
  if (qemu.firmware === 'ovmf') {
    const vars = `${options.disk}.OVMF_VARS.fd`;
    if (!fs.existsSync(vars)) fs.copyFileSync(OVMF.vars, vars);
    firmware.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF.code}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
  }
  // A Raspberry Pi: the files its GPU firmware would load, read from the card (harness/rpi-boot.ts).
  if (qemu.dtb) firmware.push(...rpiBootArgs(readRpiBootFiles(options.disk, qemu.dtb, `${options.disk}.boot`)));
  if (qemu.drive !== 'virtio') return [...firmware, '-drive', `file=${options.disk},if=sd,format=raw`, '-nic', `user${fwd}`];
  return [
    ...firmware,
    '-drive', `file=${options.disk},if=none,id=disk,format=raw`, '-device', 'virtio-blk-pci,drive=disk,bootindex=0',
    // romfile=: no network boot ROM, so the firmware goes straight to the disk.
    '-netdev', `user,id=net0${fwd}`, '-device', 'virtio-net-pci,netdev=net0,romfile=',
    '-device', 'virtio-rng-pci',
  ];
}

/** The console on the machine's `serial`-th UART (QEMU_SERIAL): the ones before it go nowhere. */
function consoleArgs(serial: number, terminal: boolean): string[] {
  const before = Array.from({ length: serial - 1 }, () => ['-serial', 'null']).flat();
  if (terminal) return serial === 1 ? ['-nographic'] : ['-display', 'none', ...before, '-serial', 'mon:stdio'];
  return ['-display', 'none', '-monitor', 'none', ...before, '-serial', 'stdio'];
}

/**
 * The QEMU command line that boots a built image, from its manifest: the layers' QEMU facts
 * (binary, machine, CPU, memory), then the card (a board) or kernel, initramfs and disks (a
 * machine layer). `terminal`: the serial console and QEMU's monitor share this terminal (Ctrl-A X
 * quits); else the serial console alone on stdio, for the harness.
 */
export function qemuCommand(manifest: Manifest, options: QemuOptions & { terminal?: boolean }): { binary: string; args: string[] } {
  const q = manifest.qemu;
  if (!q) {
    throw new SkiffError(
      `${options.imageDir} holds ${manifest.chain.join(',')} (boots with ${manifest.bootMethod}), which no layer of it says how to boot in QEMU (QEMU_BINARY)`,
      'build a QEMU machine layer (virt/qemu, virt/qemu_arm64, virt/qemu_armhf, virt/qemu_riscv64) or a board whose layer sets QEMU_BINARY and QEMU_MACHINE; an image built before those keys existed needs building again',
    );
  }
  const fwd = options.sshPort ? `,hostfwd=tcp:127.0.0.1:${options.sshPort}-:22` : '';
  // A board model may insist on its real memory size (orangepi-pc: exactly 1 GiB).
  const memoryMB = q.memoryMB ?? options.memoryMB ?? 256;
  const console = consoleArgs(q.serial ?? 1, options.terminal ?? false);
  const args = [
    ...(q.machine ? ['-M', q.machine] : []),
    ...(q.cpu ? ['-cpu', q.cpu] : []),
    '-m', String(memoryMB), ...console, '-no-reboot',
    ...(manifest.board ? boardArgs(manifest.board.card, q, options, fwd) : virtArgs(manifest, options, fwd)),
  ];
  return { binary: q.binary, args };
}

/** QEMU (TCG) running a SkiffOS image: serial console on stdio, user networking bound to 127.0.0.1. */
export class QemuMachine implements SerialPort {
  private readonly child: ChildProcess;
  private readonly listeners = new Set<(chunk: string) => void>();
  readonly exited: Promise<number | null>;

  constructor(readonly options: QemuOptions) {
    const { binary, args } = qemuCommand(readManifest(options.imageDir, 'virt/qemu'), options);
    this.child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const emit = (d: Buffer) => {
      const chunk = d.toString('latin1');
      for (const l of this.listeners) l(chunk);
    };
    this.child.stdout!.on('data', emit);
    this.child.stderr!.on('data', emit);
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  write(data: string): void {
    this.child.stdin!.write(data);
  }

  onData(listener: (chunk: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Cuts the power: QEMU is killed, the guest gets no chance to flush. */
  async powerOff(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
