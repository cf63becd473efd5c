import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { QEMU_SYSTEM } from '../buildroot/debian/arch.ts';
import type { SerialPort } from './console.ts';

export interface QemuOptions {
  /** images/out/<workspace>/ of a virt/qemu build, or of a board whose layer names a QEMU_MACHINE. */
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

interface BootManifest {
  arch: string;
  board?: { card: string; qemuMachine?: string; qemuMemoryMB?: number };
  core?: { file?: string };
}

/** Skiff Core: the shipped core image as a read-only disk the guest finds by its serial and imports. */
function coreDiskArgs(manifest: BootManifest, imageDir: string): string[] {
  if (!manifest.core?.file) return [];
  const file = path.join(imageDir, manifest.core.file);
  return ['-drive', `file=${file},if=none,id=core,format=raw,readonly=on`, '-device', 'virtio-blk-pci,drive=core,serial=skiffcore'];
}

/** A virt/qemu image: kernel and initramfs given to QEMU, persist on a virtio disk. */
function virtArgs(machine: string[], options: QemuOptions, common: string[], fwd: string): string[] {
  if (!fs.existsSync(options.disk)) {
    fs.mkdirSync(path.dirname(options.disk), { recursive: true });
    fs.writeFileSync(options.disk, '');
    fs.truncateSync(options.disk, options.diskBytes ?? 256 * 1024 * 1024);
  }
  const kernel = ['bzImage', 'Image', 'zImage'].find((k) => fs.existsSync(path.join(options.imageDir, k))) ?? 'bzImage';
  return [
    ...machine,
    ...common,
    '-kernel', path.join(options.imageDir, kernel),
    '-initrd', path.join(options.imageDir, 'initramfs.cpio.zst'),
    '-drive', `file=${options.disk},if=virtio,format=raw`,
    '-netdev', `user,id=net0${fwd}`, '-device', 'virtio-net-pci,netdev=net0',
    '-device', 'virtio-rng-pci',
  ];
}

/**
 * A board image booted as the board would: QEMU's model of the board (or its SoC) reads the whole
 * card, its boot ROM runs U-Boot's SPL from the card, and U-Boot loads the boot partition. The
 * card is copied once to `disk`, so the built image stays pristine and persist lives in the copy.
 */
function boardArgs(manifest: BootManifest, options: QemuOptions, common: string[], fwd: string): string[] {
  const board = manifest.board!;
  if (!board.qemuMachine) throw new Error(`${options.imageDir} is a board image without a QEMU model of the board (QEMU_MACHINE in its layer)`);
  if (!fs.existsSync(options.disk)) {
    fs.mkdirSync(path.dirname(options.disk), { recursive: true });
    fs.copyFileSync(path.join(options.imageDir, board.card), options.disk);
  }
  return ['-M', board.qemuMachine, ...common, '-drive', `file=${options.disk},if=sd,format=raw`, '-nic', `user${fwd}`];
}

/** QEMU (TCG) running a SkiffOS image: serial console on stdio, user networking bound to 127.0.0.1. */
export class QemuMachine implements SerialPort {
  private readonly child: ChildProcess;
  private readonly listeners = new Set<(chunk: string) => void>();
  readonly exited: Promise<number | null>;

  constructor(readonly options: QemuOptions) {
    const manifest = JSON.parse(fs.readFileSync(path.join(options.imageDir, 'manifest.json'), 'utf8')) as BootManifest;
    const system = QEMU_SYSTEM[manifest.arch];
    if (!system) throw new Error(`no QEMU for architecture ${manifest.arch}`);
    const fwd = options.sshPort ? `,hostfwd=tcp:127.0.0.1:${options.sshPort}-:22` : '';
    // A board model may insist on its real memory size (orangepi-pc: exactly 1 GiB).
    const memoryMB = manifest.board?.qemuMemoryMB ?? options.memoryMB ?? 256;
    const common = ['-m', String(memoryMB), '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot'];
    const args = manifest.board ? boardArgs(manifest, options, common, fwd) : [...virtArgs(system.machine, options, common, fwd), ...coreDiskArgs(manifest, options.imageDir)];
    this.child = spawn(system.binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
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
