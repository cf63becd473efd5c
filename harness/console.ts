import type { SerialPort } from '../emulator/serial-port.ts';

export type { SerialPort };

export interface LogEntry {
  /** Milliseconds since the console was attached. */
  at: number;
  dir: 'in' | 'out';
  data: string;
}

export class ConsoleTimeout extends Error {
  constructor(
    readonly pattern: string,
    readonly waitedMs: number,
    readonly tail: string,
    /** The first kernel complaints, when the tail no longer shows how the trouble began. */
    readonly firstTroubles: string[] = [],
  ) {
    const first = firstTroubles.length > 0 ? `; first troubles on the console:\n${firstTroubles.join('\n')}\n` : '; ';
    super(`timed out after ${(waitedMs / 1000).toFixed(1)} s waiting for ${pattern}${first}last console output:\n${tail}`);
    this.name = 'ConsoleTimeout';
  }
}

/** Lines that usually start a failure: I/O errors, timeouts, aborted journals, oopses. */
const TROUBLE = /\b(I\/O error|error|exception|lost interrupt|timed out|timeout|panic|Oops|BUG|Call Trace|aborted|failed)\b/i;

let nextMarker = 1;

/**
 * An expect engine over a raw console: waits for patterns in what the machine prints, and runs
 * shell commands with their output and exit status recovered from unique markers, so echo,
 * line wrapping and interleaved kernel messages do not confuse it. Has no Node-only imports.
 */
export class Console {
  readonly log: LogEntry[] = [];
  private buffer = '';
  /** Output before this index has been consumed by a match. */
  private cursor = 0;
  private waiters = new Set<{ check: () => void; fail: (err: Error) => void }>();
  /** Set when the line is gone (a vanished tty): waits fail at once instead of timing out. */
  private broken?: Error;
  private readonly started = Date.now();
  private readonly detach: () => void;

  constructor(private readonly port: SerialPort) {
    this.detach = port.onData((chunk) => {
      this.buffer += chunk;
      this.log.push({ at: Date.now() - this.started, dir: 'out', data: chunk });
      for (const w of [...this.waiters]) w.check();
    });
  }

  close(): void {
    this.detach();
  }

  /** The line is gone: every pending and later wait fails with `err` until `reconnected()`. */
  lost(err: Error): void {
    this.broken = err;
    for (const w of [...this.waiters]) w.fail(err);
  }

  reconnected(): void {
    this.broken = undefined;
  }

  send(data: string): void {
    this.log.push({ at: Date.now() - this.started, dir: 'in', data });
    this.port.write(data);
  }

  /** Everything printed so far. */
  get output(): string {
    return this.buffer;
  }

  /** The last `lines` lines of output, for error messages. */
  tail(lines = 15): string {
    return this.buffer.replace(/\r/g, '').split('\n').slice(-lines).join('\n');
  }

  /** The first `count` troubling lines that are older than the tail: how a failure began. */
  firstTroubles(count = 8, tailLines = 15): string[] {
    const lines = this.buffer.replace(/\r/g, '').split('\n');
    return lines.slice(0, -tailLines).filter((l) => TROUBLE.test(l)).slice(0, count);
  }

  /** Waits for `pattern` in output not yet consumed; consumes up to the end of the match. */
  waitFor(pattern: RegExp | string, timeoutMs: number): Promise<RegExpExecArray> {
    const re = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const take = (): RegExpExecArray | null => {
        const m = re.exec(this.buffer.slice(this.cursor));
        if (m) this.cursor += m.index + m[0].length;
        return m;
      };
      // A lost line fails at once, but output that arrived before it was lost still counts.
      if (this.broken) {
        const m = take();
        return m ? resolve(m) : reject(this.broken);
      }
      const timer = setTimeout(() => {
        cleanup();
        reject(new ConsoleTimeout(String(re), Date.now() - started, this.tail(), this.firstTroubles()));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = {
        check: () => {
          const m = take();
          if (!m) return;
          cleanup();
          resolve(m);
        },
        fail: (err: Error) => {
          cleanup();
          reject(err);
        },
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  /** Forgets unconsumed output, e.g. before a new boot. */
  skipAll(): void {
    this.cursor = this.buffer.length;
  }

  /**
   * Runs a shell command and returns its output and exit status. The start and end markers are
   * built from pieces at run time, so the echoed command line can never match them.
   */
  async run(command: string, timeoutMs = 30_000): Promise<{ output: string; status: number }> {
    const id = `${Date.now().toString(36)}${nextMarker++}`;
    const begin = `SKIFF-BEGIN-${id}`;
    const end = `SKIFF-END-${id}`;
    // Ctrl-U first: whatever sits in the shell's line buffer (a stray key, a terminal's late
    // answer to a cursor query) is discarded instead of being glued to the command.
    this.send(`\x15echo SKIFF-BEGIN-"${id}"; ${command}; echo SKIFF-END-"${id}"-$?\n`);
    await this.waitFor(new RegExp(`(^|\\n)${begin}\\r?\\n`), timeoutMs);
    const m = await this.waitFor(new RegExp(`([\\s\\S]*?)(?:\\r?\\n)?${end}-(\\d+)\\r?\\n`), timeoutMs);
    return { output: m[1]!.replace(/\r\n/g, '\n'), status: Number(m[2]) };
  }
}
