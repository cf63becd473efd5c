import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import { nodeWasmPath } from './emulator/node-image.ts';
import { outDir } from './images/paths.ts';

// The playground serves the browser/v86 image built in this workspace (see site/prepare-image.ts).
export const PLAYGROUND_WORKSPACE = process.env.SKIFF_PLAYGROUND_WORKSPACE || 'playground';
const imageDir = outDir({ rootDir: path.dirname(fileURLToPath(import.meta.url)), workspace: PLAYGROUND_WORKSPACE });
const IMAGE_FILES = ['manifest.json', 'bzImage', 'initramfs.cpio.zst', 'seabios.bin', 'vgabios.bin'];
/** Skiff Core's 9p share: its table and its content-named files, fetched by v86 one by one. */
const CORE_FILE = /^core\/(fs\.json(\.gz)?|flat\/[0-9a-f]{64}\.zst)$/;
/** v86.wasm, gzip-compressed (2.1 MB → 0.4 MB); the worker unpacks it, so no web host setting matters. */
const WASM_GZ = 'v86.wasm.gz';
let wasmGz: Buffer | undefined;
const v86WasmGz = () => (wasmGz ??= zlib.gzipSync(fs.readFileSync(nodeWasmPath()), { level: 9 }));

/** Serves image/ from images/out/<workspace>/ in dev, and copies it into dist/image/ on build. */
function skiffImage(): Plugin {
  return {
    name: 'skiff-image',
    configureServer(server) {
      server.middlewares.use('/image', (req, res, next) => {
        const name = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
        if (name === WASM_GZ) {
          res.setHeader('Content-Type', 'application/octet-stream');
          res.end(v86WasmGz());
          return;
        }
        if (!IMAGE_FILES.includes(name) && !CORE_FILE.test(name)) return next();
        const file = path.join(imageDir, name);
        if (!fs.existsSync(file)) {
          res.statusCode = 404;
          res.end(`${file} is missing: run npm start (it builds the image)`);
          return;
        }
        res.setHeader('Content-Type', name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
        res.setHeader('Content-Length', fs.statSync(file).size);
        fs.createReadStream(file).pipe(res);
      });
    },
    writeBundle(options) {
      const out = path.join(options.dir!, 'image');
      fs.mkdirSync(out, { recursive: true });
      for (const f of IMAGE_FILES) fs.copyFileSync(path.join(imageDir, f), path.join(out, f));
      fs.writeFileSync(path.join(out, WASM_GZ), v86WasmGz());
      const core = path.join(imageDir, 'core');
      if (fs.existsSync(path.join(core, 'fs.json'))) fs.cpSync(core, path.join(out, 'core'), { recursive: true });
    },
  };
}

export default defineConfig({
  root: 'site',
  base: './',
  publicDir: false,
  plugins: [skiffImage()],
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        index: path.resolve(__dirname, 'site/index.html'),
        'docs-example': path.resolve(__dirname, 'site/docs-example.html'),
        // A stable name, for documentation pages on other sites: <script type="module" src=".../embed.js">.
        embed: path.resolve(__dirname, 'site/embed.ts'),
      },
      output: { entryFileNames: (chunk) => (chunk.name === 'embed' ? 'embed.js' : 'assets/[name]-[hash].js') },
    },
  },
  server: { host: '127.0.0.1', port: Number(process.env.PORT) || 5173 },
  preview: { host: '127.0.0.1', port: Number(process.env.PORT) || 4173 },
});
