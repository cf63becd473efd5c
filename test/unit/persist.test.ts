import 'fake-indexeddb/auto';
import fs from 'node:fs';
import path from 'node:path';
import { createStore, set } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { FileBackend } from '../../emulator/persist/file-backend.ts';
import { IndexedDbBackend } from '../../emulator/persist/indexeddb-backend.ts';
import { type ChunkBackend, DiskSync, PersistStore } from '../../emulator/persist/store.ts';
import { tempDir } from '../support/tree.ts';

const SIZE = 1 << 20;
const CHUNK = 64 << 10;
let dbCount = 0;

const backends: [string, () => { backend: ChunkBackend; damage: (what: 'chunk' | 'drop' | 'version') => Promise<void> }][] = [
  [
    'IndexedDB',
    () => {
      const name = `skiff-test-${dbCount++}`;
      const backend = new IndexedDbBackend(name);
      const raw = createStore(name, 'disk');
      return {
        backend,
        damage: async (what) => {
          if (what === 'chunk') await set('chunk:1', new Uint8Array(CHUNK).fill(7), raw);
          if (what === 'drop') await import('idb-keyval').then((k) => k.del('chunk:1', raw));
          if (what === 'version') await set('meta', { format: 'skiff-persist', version: 99 }, raw);
        },
      };
    },
  ],
  [
    'sparse file',
    () => {
      const file = path.join(tempDir(), 'persist.img');
      return {
        backend: new FileBackend(file),
        damage: async (what) => {
          if (what === 'chunk') {
            const fd = fs.openSync(file, 'r+');
            fs.writeSync(fd, Buffer.alloc(16, 7), 0, 16, CHUNK + 100);
            fs.closeSync(fd);
          }
          if (what === 'drop') fs.truncateSync(file, CHUNK);
          if (what === 'version') fs.writeFileSync(`${file}.json`, JSON.stringify({ format: 'skiff-persist', version: 99 }));
        },
      };
    },
  ],
];

/**
 * The first offset where two disks differ (-1: none, the length of the shorter when one is longer).
 * vitest's deep equality walks a 1 MiB array element by element: seconds per assertion.
 */
function firstDifference(a: ArrayBuffer, b: ArrayBuffer): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.equals(y)) return -1;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return i;
  return n;
}

function diskWith(writes: [number, number][]): ArrayBuffer {
  const d = new Uint8Array(SIZE);
  for (const [offset, value] of writes) d.fill(value, offset, offset + 100);
  return d.buffer;
}

describe.each(backends)('the persist store on %s', (_name, make) => {
  it('starts empty, stores only changed non-zero chunks, and reads the disk back', async () => {
    const { backend } = make();
    const store = new PersistStore(backend, SIZE, CHUNK);
    const first = await store.open();
    expect(first.status).toBe('empty');
    const disk = diskWith([[10, 1], [CHUNK * 3 + 5, 3]]);
    expect(await store.save(disk, [0, 1, 3])).toBe(2); // chunk 1 is zeros: nothing to store
    expect(store.storedBytes).toBe(2 * CHUNK);
    const again = await new PersistStore(backend, SIZE, CHUNK).open();
    expect(again.status).toBe('ok');
    expect(firstDifference((again as { disk: ArrayBuffer }).disk, disk)).toBe(-1);
    // Zeroing a chunk removes it.
    new Uint8Array(disk).fill(0, CHUNK * 3, CHUNK * 4);
    await store.save(disk, [3]);
    expect(store.storedBytes).toBe(CHUNK);
  });

  it('round-trips an exported image through import, and wipes', async () => {
    const { backend } = make();
    const store = new PersistStore(backend, SIZE, CHUNK);
    await store.open();
    const disk = diskWith([[0, 9], [SIZE - 200, 4]]);
    await store.save(disk, [0, SIZE / CHUNK - 1]);
    const exported = (await store.open()) as { disk: ArrayBuffer };
    await store.wipe();
    expect((await store.open()).status).toBe('empty');
    await store.importImage(exported.disk);
    const back = (await new PersistStore(backend, SIZE, CHUNK).open()) as { status: string; disk: ArrayBuffer };
    expect(back.status).toBe('ok');
    expect(firstDifference(back.disk, disk)).toBe(-1);
    await expect(store.importImage(new ArrayBuffer(1000))).rejects.toThrow(/512-byte sectors/);
  });

  it.each(['chunk', 'drop', 'version'] as const)('reports a %s problem as damaged, with the data salvageable', async (what) => {
    const { backend, damage } = make();
    const store = new PersistStore(backend, SIZE, CHUNK);
    await store.open();
    const disk = diskWith([[5, 1], [CHUNK + 5, 2]]);
    await store.save(disk, [0, 1]);
    await damage(what);
    const r = await new PersistStore(backend, SIZE, CHUNK).open();
    expect(r.status).toBe('damaged');
    const problem = (r as { problem: string }).problem;
    expect(problem).toMatch({ chunk: /corrupt/, drop: /missing/, version: /version 99/ }[what]);
    if (what !== 'version') expect(new Uint8Array((r as { salvage: ArrayBuffer }).salvage)[5]).toBe(1);
  });
});

describe('DiskSync', () => {
  it('saves written chunks within a second, coalescing bursts', async () => {
    const store = new PersistStore(new IndexedDbBackend(`skiff-sync-${dbCount++}`), SIZE, CHUNK);
    await store.open();
    const disk = new Uint8Array(SIZE);
    const saved: number[] = [];
    const sync = new DiskSync(store, () => disk.buffer, (n) => saved.push(n));
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) {
      disk[i * CHUNK + 1] = 1;
      sync.written(i * CHUNK, 512);
    }
    while (saved.length === 0 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 20));
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(saved).toEqual([10]);
  });
});
