// Type only: the reader (node:fs, zod) stays out of the browser bundle.
import type { Manifest } from '../images/manifest.ts';
import { fetchGunzipped } from './gunzip.ts';
import type { MachineImage } from './machine.ts';

const FILES = { bios: 'seabios.bin', vgaBios: 'vgabios.bin', kernel: 'bzImage', initrd: 'initramfs.cpio.zst' } as const;

/** Identifies an image: states saved for one image are never restored into another. */
export function imageId(manifest: Manifest): string {
  const parts = Object.values(FILES).map((f) => manifest.outputs[f]?.sha256.slice(0, 16) ?? 'missing');
  // A state holds v86's 9p file table: it belongs to this core image too.
  const share = manifest.core?.share && manifest.outputs[manifest.core.share.fsJson];
  return [...parts, ...(share ? [share.sha256.slice(0, 16)] : [])].join('-');
}

/** Fetches a built image over HTTP (the playground's `image/` folder), reporting bytes as they arrive. */
export async function fetchImage(base: string, onProgress: (loaded: number, total: number) => void): Promise<{ image: MachineImage; manifest: Manifest }> {
  const res = await fetch(new URL('manifest.json', base));
  if (!res.ok) throw new Error(`cannot load ${new URL('manifest.json', base)}: HTTP ${res.status}`);
  const manifest = (await res.json()) as Manifest;
  const total = Object.values(FILES).reduce((n, f) => n + (manifest.outputs[f]?.size ?? 0), 0);
  let loaded = 0;
  const get = async (name: string): Promise<ArrayBuffer> => {
    const r = await fetch(new URL(name, base));
    if (!r.ok || !r.body) throw new Error(`cannot load ${name}: HTTP ${r.status}`);
    const parts: Uint8Array[] = [];
    const reader = r.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      loaded += value.length;
      onProgress(loaded, total);
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out.buffer;
  };
  const [bios, vgaBios, kernel, initrd] = await Promise.all([get(FILES.bios), get(FILES.vgaBios), get(FILES.kernel), get(FILES.initrd)]);
  // The core image is not downloaded here: v86 fetches fs.json at start and each file when the guest first reads it.
  const share = manifest.core?.share;
  const coreFs = share && { basefs: share.fsJsonGz ? await unpackedUrl(new URL(share.fsJsonGz, base)) : new URL(share.fsJson, base).href, baseurl: new URL(share.flat, base).href };
  return { image: { bios, vgaBios, kernel, initrd, ...(coreFs ? { coreFs } : {}) }, manifest };
}

/** Fetches a gzip-compressed file and hands v86 its unpacked bytes as a blob: URL. */
async function unpackedUrl(url: URL): Promise<string> {
  return URL.createObjectURL(new Blob([await fetchGunzipped(url)]));
}
