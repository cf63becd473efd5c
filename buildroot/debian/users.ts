import fs from 'node:fs';
import path from 'node:path';
import { SkiffError } from '../../lib/errors.ts';
import type { Contribution } from '../layers/stack.ts';

/**
 * Adds the users of Buildroot makeuser tables (`username uid group gid password home shell groups comment`)
 * to the tree's /etc/passwd, /etc/group and /etc/shadow. A uid or gid of -1 is allocated from 1000.
 * Passwords: `*`/`-` no password login, `!…` locked. Plain-text passwords are refused: keys only.
 */
export function addUsers(tree: string, tables: Contribution[]): string[] {
  const etc = path.join(tree, 'etc');
  const read = (f: string) => (fs.existsSync(path.join(etc, f)) ? fs.readFileSync(path.join(etc, f), 'utf8').split('\n').filter(Boolean) : []);
  const passwd = read('passwd');
  const group = read('group');
  const shadow = read('shadow');
  const ids = (lines: string[]) => new Set(lines.map((l) => Number(l.split(':')[2])));
  const next = (used: Set<number>) => {
    let id = 1000;
    while (used.has(id)) id++;
    return id;
  };
  const added: string[] = [];
  for (const table of tables) {
    fs.readFileSync(table.path, 'utf8').split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const f = line.split(/\s+/);
      if (f.length < 8) throw new SkiffError(`${table.path}:${i + 1}: expected "username uid group gid password home shell groups comment"`, 'see the Buildroot manual, makeuser syntax');
      const [user, uidText, grp, gidText, password, home, shell, groups] = f as [string, string, string, string, string, string, string, string];
      const comment = f.slice(8).join(' ');
      if (password.startsWith('=')) throw new SkiffError(`${table.path}:${i + 1}: plain-text password for ${user}`, 'SkiffOS logins use SSH keys: write * (no password) or ! (locked)');
      let gid = Number(gidText);
      const existingGroup = group.find((g) => g.split(':')[0] === grp);
      if (existingGroup) gid = Number(existingGroup.split(':')[2]);
      else {
        if (gid < 0) gid = next(ids(group));
        group.push(`${grp}:x:${gid}:`);
      }
      if (passwd.some((p) => p.split(':')[0] === user)) return;
      const uid = Number(uidText) < 0 ? next(ids(passwd)) : Number(uidText);
      passwd.push(`${user}:x:${uid}:${gid}:${comment}:${home === '-' ? '/' : home}:${shell === '-' ? '/bin/false' : shell}`);
      shadow.push(`${user}:${password === '-' ? '*' : password}:1::::::`);
      for (const extra of groups === '-' ? [] : groups.split(',')) {
        const idx = group.findIndex((g) => g.split(':')[0] === extra);
        if (idx < 0) group.push(`${extra}:x:${next(ids(group))}:${user}`);
        else group[idx] = group[idx]!.endsWith(':') ? `${group[idx]}${user}` : `${group[idx]},${user}`;
      }
      if (home !== '-') fs.mkdirSync(path.join(tree, home), { recursive: true });
      added.push(user);
    });
  }
  fs.writeFileSync(path.join(etc, 'passwd'), passwd.join('\n') + '\n');
  fs.writeFileSync(path.join(etc, 'group'), group.join('\n') + '\n');
  fs.writeFileSync(path.join(etc, 'shadow'), shadow.join('\n') + '\n');
  return added;
}
