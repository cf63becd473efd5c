import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { SkiffError } from '../../lib/errors.ts';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Every output line goes here as it comes (stdout and stderr). */
  onLine?: (line: string) => void;
  /** Output is also appended to this file, so a failure can point at the whole log. */
  logFile?: string;
  /** Lines kept for the error message when the command fails. */
  tail?: number;
}

/** Runs a command; resolves with its output, or throws a SkiffError with the output's last lines. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
    const keep: string[] = [];
    let all = '';
    let partial = '';
    const onData = (buf: Buffer) => {
      const text = buf.toString('utf8');
      log?.write(text);
      if (all.length < 4_000_000) all += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        keep.push(line);
        if (keep.length > (opts.tail ?? 40)) keep.shift();
        opts.onLine?.(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      log?.end();
      reject(new SkiffError(`cannot run ${cmd}: ${err.message}`, '`skiff doctor` lists the host tools the build needs'));
    });
    child.on('close', (code, signal) => {
      log?.end();
      if (partial) keep.push(partial);
      if (code === 0) return resolve(all);
      const where = opts.logFile ? ` (full log: ${opts.logFile})` : '';
      reject(new SkiffError(`${cmd} ${args.join(' ')} failed with ${signal ?? `exit code ${code}`}${where}:\n${keep.join('\n')}`));
    });
  });
}
