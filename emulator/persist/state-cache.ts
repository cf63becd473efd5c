import { createStore, del, get, keys, set, type UseStore } from 'idb-keyval';

async function pipe(data: ArrayBuffer, stream: CompressionStream | DecompressionStream): Promise<ArrayBuffer> {
  return new Response(new Blob([data]).stream().pipeThrough(stream)).arrayBuffer();
}

/** Saved machine states for fast boot, gzip-compressed, one per image: a new image drops the old ones. */
export class StateCache {
  private readonly store: UseStore;

  constructor(dbName = 'skiff-states') {
    this.store = createStore(dbName, 'states');
  }

  async load(image: string): Promise<ArrayBuffer | undefined> {
    const packed = await get(image, this.store);
    if (!(packed instanceof ArrayBuffer)) return undefined;
    return pipe(packed, new DecompressionStream('gzip'));
  }

  async save(image: string, state: ArrayBuffer): Promise<number> {
    const packed = await pipe(state, new CompressionStream('gzip'));
    for (const k of await keys(this.store)) if (k !== image) await del(k, this.store);
    await set(image, packed, this.store);
    return packed.byteLength;
  }

  async drop(image?: string): Promise<void> {
    for (const k of await keys(this.store)) if (!image || k === image) await del(k, this.store);
  }
}
