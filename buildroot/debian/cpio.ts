import fs from 'node:fs';
import path from 'node:path';

/** An extra entry that cannot live in the staging tree without root, e.g. /dev/console. */
export interface DeviceNode {
  path: string;
  mode: number;
  major: number;
  minor: number;
}

/**
 * Packs a folder as a cpio "newc" archive, reproducibly: entries in byte order, owner root,
 * every timestamp `mtime`, inode numbers by position, nothing about the host inside.
 */
export function packCpio(root: string, mtime: number, devices: DeviceNode[] = []): Buffer {
  const chunks: Buffer[] = [];
  let ino = 1;
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  const entry = (name: string, mode: number, nlink: number, data: Buffer, rdev: [number, number] = [0, 0]) => {
    const nameBuf = Buffer.from(name + '\0', 'utf8');
    const header = Buffer.from(
      '070701' + [ino++, mode, 0, 0, nlink, mtime, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0].map(hex).join(''),
      'ascii',
    );
    chunks.push(header, nameBuf, pad4(header.length + nameBuf.length), data, pad4(data.length));
  };
  const items: { rel: string; device?: DeviceNode }[] = [];
  const walk = (rel: string) => {
    const names = fs.readdirSync(path.join(root, rel)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      items.push({ rel: r });
      if (fs.lstatSync(path.join(root, r)).isDirectory()) walk(r);
    }
  };
  walk('');
  for (const d of devices) items.push({ rel: d.path.replace(/^\/+/, ''), device: d });
  items.sort((a, b) => Buffer.compare(Buffer.from(a.rel), Buffer.from(b.rel)));
  for (const { rel, device } of items) {
    if (device) {
      entry(rel, device.mode, 1, Buffer.alloc(0), [device.major, device.minor]);
      continue;
    }
    const st = fs.lstatSync(path.join(root, rel));
    if (st.isDirectory()) entry(rel, st.mode, 2, Buffer.alloc(0));
    else if (st.isSymbolicLink()) entry(rel, st.mode, 1, Buffer.from(fs.readlinkSync(path.join(root, rel)), 'utf8'));
    else if (st.isFile()) entry(rel, st.mode, 1, fs.readFileSync(path.join(root, rel)));
  }
  ino = 0;
  entry('TRAILER!!!', 0, 1, Buffer.alloc(0));
  return Buffer.concat(chunks);
}
