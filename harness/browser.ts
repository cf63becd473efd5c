// Node side of driving the playground in Chromium: a static server for the built site and the launcher.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { SkiffError } from '../lib/errors.ts';

export const CHROMIUM = process.env.SKIFF_CHROMIUM || '/usr/bin/chromium';

/** Launches Debian's Chromium through Playwright (which downloads no browser of its own). */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new SkiffError(`${CHROMIUM} is missing`, 'apt-get install chromium (or point SKIFF_CHROMIUM at a Chromium binary)');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
};

export interface StaticSite {
  url: string;
  /** Every file served, in order, with its size: what a visit downloaded. */
  served: { path: string; bytes: number }[];
  close(): Promise<void>;
}

/**
 * Serves the built playground (`dist/`) on 127.0.0.1, with `image/` taken from `imageDir` when
 * given, so any browser/v86 build can be booted in the tab without rebuilding the site.
 */
export async function serveSite(distDir: string, imageDir?: string): Promise<StaticSite> {
  if (!fs.existsSync(path.join(distDir, 'index.html'))) throw new SkiffError(`${distDir} holds no built playground`, 'run `npm run build` first');
  const served: StaticSite['served'] = [];
  const server = http.createServer((req, res) => {
    let rel: string;
    try {
      rel = decodeURIComponent((req.url ?? '/').split('?')[0]!).replace(/^\/+/, '') || 'index.html';
    } catch {
      res.writeHead(400).end('bad URL');
      return;
    }
    // image/ from imageDir, except what the site itself puts there (the emulator, see vite.config.ts).
    const fromImage = imageDir && rel.startsWith('image/') && rel !== 'image/v86.wasm.gz';
    const root = fromImage ? imageDir : distDir;
    const file = path.resolve(root, fromImage ? rel.slice('image/'.length) : rel);
    if (!file.startsWith(path.resolve(root) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    const bytes = fs.statSync(file).size;
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': bytes });
    served.push({ path: rel, bytes });
    fs.createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
