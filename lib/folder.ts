import fs from 'node:fs';
import path from 'node:path';

/**
 * Why `dir` cannot be used as a folder, now or once created, or undefined when it can: it is a
 * file, a file sits where one of its parents should be, or a name in it is too long. Read only.
 */
export function folderProblem(dir: string): string | undefined {
  const wanted = path.resolve(dir);
  for (let p = wanted; ; p = path.dirname(p)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Missing (or below a file): look further up for what is in the way.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && path.dirname(p) !== p) continue;
      if (code === 'ENAMETOOLONG') return 'the path is longer than the file system allows (255 bytes a name)';
      if (code === 'ELOOP') return `${p} is a loop of symbolic links`;
      if (code === 'EACCES') return `${p} cannot be reached (permission denied)`;
      return `${p} cannot be read (${code ?? String(err)})`;
    }
    if (stat.isDirectory()) return undefined;
    return p === wanted ? `${p} is a file, not a folder` : `${p} is a file, where a folder is needed`;
  }
}
