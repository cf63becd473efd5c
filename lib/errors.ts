/** An error a user can act on: what went wrong, naming the culprit, and how to fix it. */
export class SkiffError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'SkiffError';
  }

  describe(): string {
    return this.fix ? `${this.message}\n  fix: ${this.fix}` : this.message;
  }
}
