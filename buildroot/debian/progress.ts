/** Progress lines for long work: numbered steps with their duration, and periodic updates inside a step. */
export class Progress {
  private started = Date.now();
  private stepStart = Date.now();
  private lastTick = 0;
  private n = 0;

  constructor(
    private total: number,
    private readonly out: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  ) {}

  /** Some builds have more steps than the caller counted (a Skiff Core image, say). */
  addSteps(n: number): void {
    this.total += n;
  }

  step(title: string): void {
    this.n++;
    this.stepStart = Date.now();
    this.out(`[${this.n}/${this.total}] ${title}`);
  }

  /** A note inside the current step, printed at most every `everyMs` unless forced. */
  tick(text: string, everyMs = 5000, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastTick < everyMs) return;
    this.lastTick = now;
    this.out(`      ${text} (${secs(now - this.stepStart)})`);
  }

  done(text: string): void {
    this.out(`      ${text} (${secs(Date.now() - this.stepStart)})`);
  }

  elapsed(): string {
    return secs(Date.now() - this.started);
  }
}

export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
