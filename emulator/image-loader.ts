import type { MachineImage } from './machine.ts';

/** The parts of images/out/<workspace>/manifest.json the emulator reads. */
export interface ImageManifest {
  skiff: string;
  chain: string[];
  kernel: { release: string };
  outputs: Record<string, { size: number; sha256: string }>;
}

const FILES = { bios: 'seabios.bin', vgaBios: 'vgabios.bin', kernel: 'bzImage', initrd: 'initramfs.cpio.gz' } as const;

/** Identifies an image: states saved for one image are never restored into another. */
export function imageId(manifest: ImageManifest): string {
  return Object.values(FILES)
    .map((f) => manifest.outputs[f]?.sha256.slice(0, 16) ?? 'missing')
    .join('-');
}

/** Fetches a built image over HTTP (the playground's `image/` folder), reporting bytes as they arrive. */
export async function fetchImage(base: string, onProgress: (loaded: number, total: number) => void): Promise<{ image: MachineImage; manifest: ImageManifest }> {
  const res = await fetch(new URL('manifest.json', base));
  if (!res.ok) throw new Error(`cannot load ${new URL('manifest.json', base)}: HTTP ${res.status}`);
  const manifest = (await res.json()) as ImageManifest;
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
  return { image: { bios, vgaBios, kernel, initrd }, manifest };
}
