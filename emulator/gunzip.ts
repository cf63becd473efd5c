/**
 * The bytes of a `.gz` file the page fetched, unpacked. A web host that labels `.gz` files
 * `Content-Encoding: gzip` has had the browser unpack them already: the gzip magic says which.
 */
export async function fetchGunzipped(url: string | URL): Promise<ArrayBuffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${url}: HTTP ${res.status}`);
  const bytes = await res.arrayBuffer();
  const head = new Uint8Array(bytes, 0, Math.min(2, bytes.byteLength));
  if (head[0] !== 0x1f || head[1] !== 0x8b) return bytes;
  return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
}
