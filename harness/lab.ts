import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { SkiffError } from '../lib/errors.ts';

/** The baud rates a USB serial adapter and the kernel agree on. */
export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000, 1500000, 3000000];

export interface SerialSpec {
  kind: 'serial';
  name: string;
  device: string;
  baud: number;
  power: { on: string; off: string };
  ssh?: SshSpec;
}
export interface EmulatorSpec {
  kind: 'v86' | 'v86-browser' | 'qemu';
  name: string;
  image: string;
}
export interface SshSpec {
  host: string;
  port: number;
  user: string;
  key?: string;
}
export type TargetSpec = SerialSpec | EmulatorSpec;

export interface Lab {
  file: string;
  targets: Map<string, TargetSpec>;
  /** Modules exporting `scenarios`, resolved against the lab file's folder. */
  scenarios: string[];
}

const expand = (p: string, base: string) => path.resolve(base, p.replace(/^~(?=\/)/, os.homedir()));

/** Reads and validates a lab file; every error names the file, the target and the key, and says what is expected. */
export function readLab(file: string): Lab {
  if (!fs.existsSync(file)) throw new SkiffError(`lab file ${file} does not exist`, 'write one as the README shows (targets: <name>: kind: serial ...)');
  const doc = parseDocument(fs.readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new SkiffError(`${file}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`, 'fix the YAML syntax');
  }
  const data = doc.toJS() as { targets?: Record<string, Record<string, unknown>>; scenarios?: unknown };
  const base = path.dirname(path.resolve(file));
  const fail = (where: string, what: string, fix: string): never => {
    throw new SkiffError(`${file}: ${where}: ${what}`, fix);
  };
  if (!data || typeof data.targets !== 'object' || data.targets === null) fail('top level', 'no "targets:" map', 'list targets by name under targets:');
  const targets = new Map<string, TargetSpec>();
  for (const [name, t] of Object.entries(data.targets!)) {
    const at = `targets.${name}`;
    if (!t || typeof t !== 'object') fail(at, 'is not a map', 'give it kind: and its settings');
    const kind = t.kind;
    if (kind === 'v86' || kind === 'v86-browser' || kind === 'qemu') {
      if (typeof t.image !== 'string') fail(`${at}.image`, 'missing', 'the images/out/<workspace> folder of a build for this target');
      targets.set(name, { kind, name, image: expand(t.image as string, base) });
      continue;
    }
    if (kind !== 'serial') fail(`${at}.kind`, `unknown kind ${JSON.stringify(kind)}`, 'kind is one of serial, qemu, v86, v86-browser');
    const serial = (t.serial ?? {}) as Record<string, unknown>;
    if (typeof serial.device !== 'string' || serial.device === '') fail(`${at}.serial.device`, 'missing', 'the tty of the board\'s serial console, e.g. /dev/ttyUSB0');
    const baud = serial.baud ?? 115200;
    if (typeof baud !== 'number' || !BAUD_RATES.includes(baud)) fail(`${at}.serial.baud`, `bad baud rate ${JSON.stringify(baud)}`, `one of ${BAUD_RATES.join(', ')}`);
    const power = (t.power ?? {}) as Record<string, unknown>;
    for (const k of ['on', 'off']) {
      if (typeof power[k] !== 'string') fail(`${at}.power.${k}`, 'missing', 'a shell command that switches the board\'s power, e.g. uhubctl -l 1-1 -p 2 -a on');
    }
    let ssh: SshSpec | undefined;
    if (t.ssh !== undefined) {
      const s = t.ssh as Record<string, unknown>;
      if (typeof s.host !== 'string') fail(`${at}.ssh.host`, 'missing', 'the board\'s address');
      ssh = { host: s.host as string, port: typeof s.port === 'number' ? s.port : 22, user: typeof s.user === 'string' ? s.user : 'root', key: typeof s.key === 'string' ? expand(s.key, base) : undefined };
    }
    targets.set(name, { kind: 'serial', name, device: expand(serial.device as string, base), baud: baud as number, power: { on: power.on as string, off: power.off as string }, ssh });
  }
  const scenarios = Array.isArray(data.scenarios) ? data.scenarios.map((s) => expand(String(s), base)) : [];
  return { file, targets, scenarios };
}
