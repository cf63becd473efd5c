import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Console } from '../../harness/console.ts';
import { V86Machine } from '../../emulator/machine.ts';
import { loadImageDir, nodeWasmPath } from '../../emulator/node-image.ts';
import { buildImage, buildTimeout } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { BOOT_MARKER_LINE } from '../../images/boot-marker.ts';

let imageDir = '';
const machines: V86Machine[] = [];

beforeAll(async () => {
  imageDir = await buildImage(IMAGES.i386.v86, 'test-emulator');
}, buildTimeout(1));

afterEach(async () => {
  for (const m of machines.splice(0)) await m.powerOff();
}, 60_000);

function start(disk: ArrayBuffer, extra: Partial<ConstructorParameters<typeof V86Machine>[0]> = {}) {
  const machine = new V86Machine({ image: loadImageDir(imageDir), disk, wasmPath: nodeWasmPath(), ...extra });
  machines.push(machine);
  return { machine, console: new Console(machine) };
}

describe('the emulator API (v86 in Node)', () => {
  it('reports where the guest writes on the persist disk', async () => {
    const writes: [number, number][] = [];
    const { console } = start(new ArrayBuffer(64 << 20), { onDiskWrite: (s, l) => writes.push([s, l]) });
    await console.waitFor(BOOT_MARKER_LINE, 120_000);
    await console.run('true');
    writes.length = 0;
    await console.run('dd if=/dev/zero of=/mnt/persist/blob bs=1k count=300 2>/dev/null; sync');
    const written = writes.reduce((n, [, l]) => n + l, 0);
    expect(written).toBeGreaterThanOrEqual(300 * 1024);
  }, 180_000);

  it('fast boot: a state saved before persist is mounted restores to a prompt and never rolls persist back', async () => {
    const disk = new ArrayBuffer(64 << 20);
    let state: ArrayBuffer | undefined;
    const first = start(disk, {
      onSnapshotPoint: async (m) => {
        state = await m.saveState();
      },
    });
    await first.console.waitFor(BOOT_MARKER_LINE, 120_000);
    expect(state).toBeDefined();
    // The disk is not inside the state: it stays small.
    expect(state!.byteLength).toBeLessThan(disk.byteLength);
    expect((await first.console.run('echo one > /mnt/persist/one && sync')).status).toBe(0);
    await first.machine.powerOff();

    const t0 = Date.now();
    const second = start(disk, { state });
    await second.machine.started;
    await second.console.waitFor(BOOT_MARKER_LINE, 60_000);
    const restoredIn = Date.now() - t0;
    expect((await second.console.run('cat /mnt/persist/one')).output.trim()).toBe('one');
    expect((await second.console.run('echo two > /mnt/persist/two && sync')).status).toBe(0);
    await second.machine.powerOff();

    const third = start(disk, { state });
    await third.console.waitFor(BOOT_MARKER_LINE, 60_000);
    expect((await third.console.run('cat /mnt/persist/one /mnt/persist/two')).output.trim()).toBe('one\ntwo');
    expect(restoredIn).toBeLessThan(30_000);
  }, 300_000);
});
