import { describe, expect, it } from 'vitest';
import { Console, ConsoleTimeout, type SerialPort } from '../../harness/console.ts';

/** A scripted shell on a raw line: echoes input (wrapped at 40 columns) and interleaves kernel noise. */
function scriptedShell(): SerialPort {
  const listeners = new Set<(c: string) => void>();
  const emit = (s: string) => setTimeout(() => listeners.forEach((l) => l(s)), 1);
  return {
    onData: (l) => (listeners.add(l), () => listeners.delete(l)),
    write(data) {
      const echoed = data.replace(/\n$/, '').match(/.{1,40}/g)!.join('\r\n');
      emit(`${echoed}\r\n`);
      emit('[   12.345678] random: crng init done\r\n');
      const m = /^\x15echo SKIFF-BEGIN-"(\w+)"; (.*); echo SKIFF-END-"\w+"-\$\?/.exec(data);
      if (!m) return;
      const [, id, cmd] = m;
      const status = cmd === 'false' ? 1 : 0;
      emit(`SKIFF-BEGIN-${id}\r\n${cmd === 'false' ? '' : `out of ${cmd}\r\n`}SKIFF-END-${id}-${status}\r\n# `);
    },
  };
}

describe('the console engine', () => {
  it('recovers output and exit status despite echo, line wrapping and kernel messages', async () => {
    const con = new Console(scriptedShell());
    expect(await con.run('ls /mnt/persist/skiff/very/long/path/name')).toEqual({ output: 'out of ls /mnt/persist/skiff/very/long/path/name', status: 0 });
    expect((await con.run('false')).status).toBe(1);
    expect(con.log.some((e) => e.dir === 'in')).toBe(true);
  });

  it('fails a wait with the pattern, the time waited and the console tail', async () => {
    const con = new Console(scriptedShell());
    con.send('hello\n');
    const err = await con.waitFor(/never printed/, 300).catch((e) => e);
    expect(err).toBeInstanceOf(ConsoleTimeout);
    expect(err.message).toMatch(/timed out after 0\.\d s waiting for \/never printed\//);
    expect(err.message).toContain('hello');
    expect(err.message).not.toContain('first troubles');
  });

  it('names the first kernel complaints when they have scrolled out of the tail', async () => {
    let print = (_: string) => {};
    const con = new Console({ write: () => {}, onData: (l) => ((print = l), () => {}) });
    print('ata1.00: exception Emask 0x0 SAct 0x0 SErr 0x0 action 0x6 frozen\r\n');
    for (let i = 0; i < 40; i++) print('EXT4-fs error (device sda): Detected aborted journal\r\n');
    const err = await con.waitFor(/never printed/, 200).catch((e) => e);
    expect(err.firstTroubles[0]).toMatch(/^ata1\.00: exception/);
    expect(err.message).toMatch(/first troubles on the console:\nata1\.00: exception/);
  });
});

