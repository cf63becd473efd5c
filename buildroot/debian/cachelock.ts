import fs from 'node:fs';
import path from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a lock file; 'unwritten' for a lock a process has just created, 'gone' once released. */
function readHolder(lock: string): number | 'unwritten' | 'gone' {
  let text: string;
  try {
    text = fs.readFileSync(lock, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  if (text === '') {
    // A creator killed between creating and writing leaves an empty file: stale after a while.
    const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    return age > 10_000 ? 0 : 'unwritten';
  }
  return Number(text) || 0;
}

/**
 * Runs `fn` holding an exclusive lock on a cache entry, so two builds (two workspaces, two test
 * files) never extract or compile into the same folder at once. A lock left by a dead process is taken over.
 */
export async function withCacheLock<T>(target: string, onWait: (holder: number) => void, fn: () => Promise<T>): Promise<T> {
  const lock = `${target}.lock`;
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(lock);
      if (holder === 'gone') continue;
      // An empty lock is one whose holder has created it and not yet written its pid: not stale.
      if (holder !== 'unwritten') {
        if (holder === 0 || !alive(holder)) {
          fs.rmSync(lock, { force: true });
          continue;
        }
        if (!told) onWait(holder);
        told = true;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}
