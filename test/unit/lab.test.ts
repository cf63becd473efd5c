import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLab } from '../../harness/lab.ts';
import { tempDir } from '../support/tree.ts';

function labFile(yaml: string): string {
  const f = path.join(tempDir(), 'lab.yaml');
  fs.writeFileSync(f, yaml);
  return f;
}

describe('lab files', () => {
  it.each([
    ['targets:\n  pi: { kind: toaster }\n', /targets\.pi\.kind: unknown kind "toaster"/],
    ['targets:\n  pi: { kind: serial, power: { on: x, off: y } }\n', /targets\.pi\.serial\.device: missing/],
    ['targets:\n  pi: { kind: serial, serial: { device: /dev/ttyUSB0, baud: 12345 }, power: { on: x, off: y } }\n', /targets\.pi\.serial\.baud: bad baud rate 12345/],
    ['targets:\n  pi: { kind: serial, serial: { device: /dev/ttyUSB0 } }\n', /targets\.pi\.power\.on: missing/],
    ['targets: [\n', /lab\.yaml:\d+: /],
  ])('refuses %j with a clear error', (yaml, message) => {
    expect(() => readLab(labFile(yaml))).toThrow(message);
  });

  it('reads a Raspberry Pi 4 on a USB serial adapter', () => {
    const lab = readLab(labFile('targets:\n  my-pi4:\n    kind: serial\n    serial: { device: /dev/ttyUSB0, baud: 115200 }\n    power: { on: "uhubctl -l 1-1 -p 2 -a on", off: "uhubctl -l 1-1 -p 2 -a off" }\n    ssh: { host: 192.168.1.50, user: root }\n'));
    expect(lab.targets.get('my-pi4')).toMatchObject({ kind: 'serial', device: '/dev/ttyUSB0', baud: 115200, ssh: { host: '192.168.1.50', port: 22, user: 'root' } });
  });
});

