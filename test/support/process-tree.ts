import fs from 'node:fs';
import os from 'node:os';

/** A process and every process it started (make, debootstrap, QEMU), found through the parent links in /proc. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The parent's pid is the second field after the command name, which sits in parentheses.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree: number[] = [];
  const walk = (p: number) => {
    tree.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return tree;
}

/** Kills a process and everything it started. */
export function killTree(pid: number): void {
  for (const p of processTree(pid)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Gives a process and everything it started the normal CPU priority (nice 0): a test that waits
 * for a background prebuild holding a cache lock lends it its own priority, so other work on the
 * machine cannot starve what the test is waiting for. Raising priority takes root; without it
 * (or once the process is gone) nothing changes.
 */
export function boostTree(pid: number): void {
  for (const p of processTree(pid)) {
    try {
      if (os.getPriority(p) > 0) os.setPriority(p, 0);
    } catch {
      // gone, or not ours to raise
    }
  }
}
