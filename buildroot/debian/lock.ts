import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../layers/context.ts';
import type { LockedPackage } from './apt.ts';
import { withCacheLock } from './cachelock.ts';
import { lockFilePath } from '../../images/paths.ts';

/** The committed record of every Debian package an image was built from, per architecture. */
export interface LockFile {
  comment: string;
  /**
   * Keyed by architecture and the packages the layers ask for (`amd64:busybox-static+crun+…`):
   * two images of one architecture with different packages (virt/qemu with and without
   * skiff/core) each keep their own entry instead of re-resolving over each other.
   * `suite` only when a layer's DEBIAN_SUITE takes another release than the host's.
   */
  arches: Record<string, { requested: string[]; suite?: string; packages: LockedPackage[] }>;
  /** Boards' bootloader packages (`armhf/u-boot-sunxi`): files taken from them, never installed in the host. */
  bootloaders?: Record<string, LockedPackage>;
}

export const lockPath = (ctx: Context) => lockFilePath(ctx.rootDir);

export const lockKey = (arch: string, requested: string[]) => `${arch}:${requested.join('+')}`;

export function readLock(ctx: Context): LockFile {
  try {
    const lock = JSON.parse(fs.readFileSync(lockPath(ctx), 'utf8')) as LockFile;
    // Entries written before the key named the packages were keyed by architecture alone.
    for (const [key, entry] of Object.entries(lock.arches)) {
      if (key.includes(':')) continue;
      delete lock.arches[key];
      lock.arches[lockKey(key, entry.requested)] = entry;
    }
    return lock;
  } catch {
    return { comment: 'Written by skiff; refresh with `skiff lock --update`.', arches: {} };
  }
}

export function writeLock(ctx: Context, lock: LockFile): void {
  const byKey = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  const sorted: LockFile = { comment: lock.comment, arches: byKey(lock.arches), ...(lock.bootloaders ? { bootloaders: byKey(lock.bootloaders) } : {}) };
  fs.mkdirSync(path.dirname(lockPath(ctx)), { recursive: true });
  const tmp = `${lockPath(ctx)}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(sorted, null, 2) + '\n');
  fs.renameSync(tmp, lockPath(ctx));
}

/** Read-modify-write of the lock file under a lock: builds for other architectures may update it too. */
export function updateLock(ctx: Context, change: (lock: LockFile) => void): Promise<void> {
  return withCacheLock(lockPath(ctx), () => {}, async () => {
    const lock = readLock(ctx);
    change(lock);
    writeLock(ctx, lock);
  });
}
