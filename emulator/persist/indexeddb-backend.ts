import { clear, createStore, delMany, get, setMany, type UseStore } from 'idb-keyval';
import type { ChunkBackend, PersistMeta } from './store.ts';

/** The browser store: one IndexedDB record per chunk, the meta written in the same transaction. */
export class IndexedDbBackend implements ChunkBackend {
  private readonly store: UseStore;

  constructor(dbName = 'skiff-persist') {
    this.store = createStore(dbName, 'disk');
  }

  readMeta(): Promise<unknown> {
    return get('meta', this.store);
  }

  async readChunk(index: number): Promise<Uint8Array | undefined> {
    const v = await get(`chunk:${index}`, this.store);
    return v instanceof Uint8Array ? v : undefined;
  }

  async write(chunks: Map<number, Uint8Array | null>, meta: PersistMeta): Promise<void> {
    const puts: [string, unknown][] = [];
    const dels: string[] = [];
    for (const [i, bytes] of chunks) {
      if (bytes) puts.push([`chunk:${i}`, bytes]);
      else dels.push(`chunk:${i}`);
    }
    puts.push(['meta', meta]);
    await setMany(puts, this.store);
    if (dels.length) await delMany(dels, this.store);
  }

  clear(): Promise<void> {
    return clear(this.store);
  }
}
