import path from 'node:path';
import type { Context } from '../buildroot/context.ts';

/** Downloads, extracted sources and kernel builds, reused across workspaces; never in git. */
export const cacheDir = (ctx: Context) => path.resolve(ctx.env.SKIFF_CACHE_DIR || path.join(ctx.rootDir, '.cache'));

/** A workspace's finished images. */
export const outDir = (ctx: Context) => path.join(ctx.rootDir, 'images', 'out', ctx.workspace);
