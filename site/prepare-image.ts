// Builds the playground's browser/v86 image when it is missing (npm start, npm run build).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_DIR } from '../images/paths.ts';
import { MANIFEST_FILE } from '../images/manifest.ts';
import { outDir } from '../images/paths.ts';

const workspace = process.env.SKIFF_PLAYGROUND_WORKSPACE || 'playground';
const config = process.env.SKIFF_PLAYGROUND_CONFIG || 'browser/v86,skiff/core';
const imageDir = outDir({ rootDir: PROJECT_DIR, workspace });
const manifest = path.join(imageDir, MANIFEST_FILE);

if (fs.existsSync(manifest) && !process.argv.includes('--rebuild')) {
  console.error(`Using the playground image in ${path.relative(PROJECT_DIR, imageDir)}/ (npm run image:rebuild builds it again).`);
} else {
  console.error(`Building the playground image (SKIFF_CONFIG=${config}, workspace ${workspace}); the first build compiles a kernel and takes a few minutes.`);
  const env = { ...process.env, SKIFF_CONFIG: config, SKIFF_WORKSPACE: workspace };
  const skiff = (args: string[]) => spawnSync(process.execPath, [path.join(PROJECT_DIR, 'bin/skiff.js'), ...args], { env, stdio: 'inherit' }).status ?? 1;
  let code = skiff(['doctor']);
  if (code !== 0 && process.getuid?.() === 0) code = skiff(['doctor', '--fix']);
  if (code === 0) code = skiff(['configure', 'compile']);
  if (code !== 0) process.exit(code);
}
