import { printableLines } from './printable.ts';

/** An error a user can act on: what went wrong, naming the culprit, and how to fix it. */
export class SkiffError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'SkiffError';
  }

  /** Message and fix for the terminal; control characters a message picked up are escaped. */
  describe(): string {
    const text = this.fix ? `${this.message}\n  fix: ${this.fix}` : this.message;
    return printableLines(text);
  }
}
