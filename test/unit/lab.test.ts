import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLab } from '../../harness/lab.ts';
import { PROJECT, tempDir } from '../support/tree.ts';

function labFile(yaml: string): string {
  const f = path.join(tempDir(), 'lab.yaml');
  fs.writeFileSync(f, yaml);
  return f;
}

/** The message and fix a user reads for a refused lab file. */
function refusal(file: string): string {
  try {
    readLab(file);
  } catch (err) {
    return (err as { describe?: () => string }).describe?.() ?? String(err);
  }
  throw new Error(`${file} was accepted`);
}

const pi = (extra = '', serial = 'device: /dev/ttyUSB0, baud: 115200') =>
  `targets:\n  pi:\n    kind: serial\n    serial: { ${serial} }\n    power: { on: "relay on", off: "relay off" }\n${extra}`;

describe('lab files', () => {
  it.each([
    ['targets:\n  pi: { kind: toaster }\n', /lab\.yaml: targets\.pi\.kind: unknown kind "toaster"\n {2}fix: kind is one of serial, v86, qemu, v86-browser/],
    ['targets:\n  pi: { kind: serial, power: { on: x, off: y } }\n', /targets\.pi\.serial: missing\n {2}fix: give it device:/],
    [pi('', 'baud: 115200'), /targets\.pi\.serial\.device: missing\n {2}fix: the tty of the board's serial console/],
    [pi('', 'device: /dev/ttyUSB0, baud: 12345'), /lab\.yaml: targets\.pi\.serial\.baud: bad baud rate 12345 \(accepted: 9600, .*115200.*\)\n {2}fix: /],
    [pi('', 'device: /dev/ttyUSB0, baud: fast'), /targets\.pi\.serial\.baud: bad baud rate "fast"/],
    ['targets:\n  pi: { kind: serial, serial: { device: /dev/ttyUSB0 } }\n', /targets\.pi\.power: missing/],
    ['targets:\n  pi: { kind: serial, serial: { device: /dev/ttyUSB0 }, power: { on: x } }\n', /targets\.pi\.power\.off: missing\n {2}fix: a shell command that switches the board's power off/],
    // Unknown keys, at every level, with the nearest known key.
    [pi().replace('serial: {', 'serail: {'), /lab\.yaml: targets\.pi\.serail: unknown key\n {2}fix: did you mean serial\? targets\.pi takes kind, serial, power, ssh, deploy, sd_card$/],
    [pi('', 'device: /dev/ttyUSB0, baudrate: 115200'), /targets\.pi\.serial\.baudrate: unknown key\n {2}fix: targets\.pi\.serial takes device, baud$/],
    [pi().replace('targets:', 'tagrets:'), /lab\.yaml: tagrets: unknown key\n {2}fix: did you mean targets\? the top level takes targets, scenarios$/],
    [pi().replace('kind: serial', 'knd: serial'), /targets\.pi\.knd: unknown key\n {2}fix: did you mean kind\?/],
    ['targets:\n  vm: { kind: qemu, image: out, serial: { device: /dev/ttyS0 } }\n', /targets\.vm\.serial: unknown key\n {2}fix: targets\.vm takes kind, image, deploy$/],
    // Wrong types named as wrong types, not silently replaced by a default.
    [pi('    ssh: { host: 192.168.1.50, port: twenty-two }\n'), /lab\.yaml: targets\.pi\.ssh\.port: expected a port number \(1-65535\), got "twenty-two"\n {2}fix: /],
    [pi('    ssh: { host: 192.168.1.50, port: 70000 }\n'), /targets\.pi\.ssh\.port: expected a port number \(1-65535\), got 70000/],
    // Scenarios name the user they log in as (ssh-keys: root), so the lab file has no user key.
    [pi('    ssh: { host: 192.168.1.50, user: root }\n'), /targets\.pi\.ssh\.user: unknown key/],
    ['targets:\n  - kind: qemu\n    image: out\n', /lab\.yaml: targets: expected a mapping of target names to targets, got a list/],
    ['targets:\n  vm: { kind: qemu, image: out }\nscenarios: mine.mts\n', /scenarios: expected a list of module paths, got "mine.mts"/],
    // Empty (null) sections.
    [pi('    ssh:\n'), /lab\.yaml: targets\.pi\.ssh: is empty\n {2}fix: give it host: .*or remove ssh:/],
    [pi('    ssh: { port: 22 }\n'), /targets\.pi\.ssh\.host: missing/],
    ['targets:\n  pi:\n', /targets\.pi: is empty/],
    ['targets:\n  pi:\n    kind:\n', /targets\.pi\.kind: is empty\n {2}fix: kind is one of serial, /],
    ['targets:\n', /lab\.yaml: targets: is empty/],
    ['targets: {}\n', /lab\.yaml: targets: names no target/],
    ['', /lab\.yaml is empty/],
    // How --deploy puts a build on the target, and the settings that way needs.
    [pi('    deploy: scp\n'), /lab\.yaml: targets\.pi\.deploy: unknown way to deploy "scp" \(accepted: ssh, sd, none\)\n {2}fix: how `skiff test --deploy` puts a build on the board: ssh /],
    [pi('    deploy: ssh\n'), /lab\.yaml: targets\.pi\.deploy: ssh needs targets\.pi\.ssh\n {2}fix: add ssh: \{ host: /],
    [pi('    deploy: sd\n'), /lab\.yaml: targets\.pi\.deploy: sd needs targets\.pi\.sd_card\n {2}fix: add sd_card: \{ to_host: /],
    [pi('    deploy: sd\n    sd_card: { to_host: "mux host", device: /dev/sda }\n'), /targets\.pi\.sd_card\.to_board: missing\n {2}fix: a shell command that gives the card back to the board/],
    [pi('    sd_card: { to_host: x, to_board: y, device: /dev/sda, devic: z }\n'), /targets\.pi\.sd_card\.devic: unknown key\n {2}fix: did you mean device\? targets\.pi\.sd_card takes to_host, to_board, device$/],
    ['targets:\n  vm: { kind: qemu, image: out, deploy: sd }\n', /targets\.vm\.deploy: unknown way to deploy "sd" \(accepted: ssh, none\)\n {2}fix: ssh \(skiff push through QEMU's forwarded port\)/],
    ['targets: [\n', /lab\.yaml:\d+: /],
  ])('refuses %j with a clear error', (yaml, message) => {
    expect(refusal(labFile(yaml))).toMatch(message);
  });

  it('refuses a folder or a missing file by name, without a stack trace', () => {
    const dir = tempDir();
    expect(refusal(dir)).toBe(`lab file ${dir} is a folder\n  fix: pass the lab file inside it (e.g. ${dir}/lab.yaml), or write one as the README's "A lab file" shows`);
    expect(refusal(path.join(dir, 'lab.yaml'))).toMatch(/^lab file .*lab\.yaml does not exist\n/);
  });

  it('takes the baud rate and SSH port as numbers or quoted numbers', () => {
    const lab = readLab(labFile(pi('    ssh: { host: 192.168.1.50, port: "2222" }\n', 'device: /dev/ttyUSB0, baud: "921600"')));
    expect(lab.targets.get('pi')).toMatchObject({ baud: 921600, ssh: { port: 2222 } });
  });

  it('reads a Raspberry Pi 4 on a USB serial adapter, with the defaults filled in', () => {
    const file = labFile('targets:\n  my-pi4:\n    kind: serial\n    serial: { device: /dev/ttyUSB0 }\n    power: { on: "uhubctl -l 1-1 -p 2 -a on", off: "uhubctl -l 1-1 -p 2 -a off" }\n    ssh: { host: 192.168.1.50, key: keys/pi }\n');
    expect(readLab(file).targets.get('my-pi4')).toEqual({
      kind: 'serial',
      name: 'my-pi4',
      device: '/dev/ttyUSB0',
      baud: 115200,
      power: { on: 'uhubctl -l 1-1 -p 2 -a on', off: 'uhubctl -l 1-1 -p 2 -a off' },
      ssh: { host: '192.168.1.50', port: 22, key: path.join(path.dirname(file), 'keys/pi') },
      deploy: 'none',
    });
  });

  it('reads how a board is deployed to, and the SD card commands with the device relative to the lab file', () => {
    const file = labFile(pi('    deploy: sd\n    sd_card: { to_host: "sd-mux-ctrl -e 0 -s", to_board: "sd-mux-ctrl -e 0 -d", device: dev/card }\n'));
    expect(readLab(file).targets.get('pi')).toMatchObject({ deploy: 'sd', sdCard: { to_host: 'sd-mux-ctrl -e 0 -s', to_board: 'sd-mux-ctrl -e 0 -d', device: path.join(path.dirname(file), 'dev/card') } });
    expect(readLab(labFile(pi('    ssh: { host: 192.168.1.50 }\n    deploy: ssh\n'))).targets.get('pi')).toMatchObject({ deploy: 'ssh', ssh: { host: '192.168.1.50', port: 22 } });
  });

  it("reads the README's lab file example", () => {
    const readme = fs.readFileSync(path.join(PROJECT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### A lab file'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml, 'README.md has a yaml block under "### A lab file"').toBeDefined();
    const file = labFile(yaml!);
    const dir = path.dirname(file);
    const lab = readLab(file);
    expect(lab.targets.get('my-pi4')).toEqual({
      kind: 'serial',
      name: 'my-pi4',
      device: '/dev/ttyUSB0',
      baud: 115200,
      power: { on: 'uhubctl -l 1-1 -p 2 -a on', off: 'uhubctl -l 1-1 -p 2 -a off' },
      ssh: { host: '192.168.1.50', port: 22, key: path.join(os.homedir(), '.ssh/id_ed25519') },
      deploy: 'none',
    });
    expect(lab.targets.get('my-opi')).toEqual({
      kind: 'serial',
      name: 'my-opi',
      device: '/dev/ttyUSB1',
      baud: 115200,
      power: { on: 'uhubctl -l 1-1 -p 3 -a on', off: 'uhubctl -l 1-1 -p 3 -a off' },
      ssh: { host: '192.168.1.51', port: 22 },
      deploy: 'ssh',
    });
    expect(lab.targets.get('qemu-x86')).toEqual({ kind: 'qemu', name: 'qemu-x86', image: path.join(dir, 'images/out/qemu'), deploy: 'none' });
    expect(lab.scenarios).toEqual([path.join(dir, 'tests/my-board.mts')]);
  });
});
