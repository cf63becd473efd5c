import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { SkiffError } from '../lib/errors.ts';
import { explain, labSchema } from './lab-schema.ts';
import type { EmulatorKind } from './targets/kinds.ts';

export { BAUD_RATES } from './lab-schema.ts';

export interface SerialSpec {
  kind: 'serial';
  name: string;
  device: string;
  baud: number;
  power: { on: string; off: string };
  ssh?: SshSpec;
  deploy: 'ssh' | 'sd' | 'none';
  sdCard?: SdSpec;
}
export interface EmulatorSpec {
  kind: EmulatorKind;
  name: string;
  image: string;
  deploy?: 'ssh' | 'none';
}
/** The commands that move a board's card between it and this machine, and the device it then is. */
export interface SdSpec {
  to_host: string;
  to_board: string;
  device: string;
}
export interface SshSpec {
  host: string;
  port: number;
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

/** Reads and validates a lab file; every error names the file and the key, says what is wrong and how to fix it. */
export function readLab(file: string): Lab {
  const write = 'write one as the README\'s "A lab file" shows';
  let text: string;
  try {
    if (fs.statSync(file).isDirectory()) throw new SkiffError(`lab file ${file} is a folder`, `pass the lab file inside it (e.g. ${path.join(file, 'lab.yaml')}), or ${write}`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof SkiffError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SkiffError(`lab file ${file} does not exist`, write);
    throw new SkiffError(`cannot read lab file ${file} (${code ?? (err as Error).message})`, 'check the path and its permissions');
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new SkiffError(`${file}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`, 'fix the YAML syntax');
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) throw new SkiffError(`${file} is empty`, write);
  const parsed = labSchema.safeParse(data);
  if (!parsed.success) {
    const { key, what, fix } = explain(parsed.error.issues, data);
    throw new SkiffError(`${file}: ${key}: ${what}`, fix);
  }
  const lab = parsed.data;
  if (Object.keys(lab.targets).length === 0) throw new SkiffError(`${file}: targets: names no target`, 'add one, e.g. targets: { my-pi4: { kind: serial, ... } }');
  const base = path.dirname(path.resolve(file));
  const targets = new Map<string, TargetSpec>();
  for (const [name, t] of Object.entries(lab.targets)) {
    if (t.kind !== 'serial') {
      targets.set(name, { kind: t.kind, name, image: expand(t.image, base), deploy: t.deploy as 'ssh' | 'none' });
      continue;
    }
    const deploy = t.deploy as 'ssh' | 'sd' | 'none';
    // The way to deploy needs its settings: checked here, where the file and the key can be named.
    if (deploy === 'ssh' && !t.ssh) throw new SkiffError(`${file}: targets.${name}.deploy: ssh needs targets.${name}.ssh`, "add ssh: { host: <the board's address> } (port: and key: are optional), or deploy: none");
    if (deploy === 'sd' && !t.sd_card) throw new SkiffError(`${file}: targets.${name}.deploy: sd needs targets.${name}.sd_card`, 'add sd_card: { to_host: <command>, to_board: <command>, device: <block device> }, or deploy: none');
    const ssh = t.ssh && { ...t.ssh, key: t.ssh.key === undefined ? undefined : expand(t.ssh.key, base) };
    const sd = t.sd_card && { ...t.sd_card, device: expand(t.sd_card.device, base) };
    targets.set(name, { kind: 'serial', name, device: expand(t.serial.device, base), baud: t.serial.baud, power: t.power, ssh, deploy, ...(sd ? { sdCard: sd } : {}) });
  }
  return { file, targets, scenarios: (lab.scenarios ?? []).map((s) => expand(s, base)) };
}
