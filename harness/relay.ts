import type { SerialPort } from './console.ts';

/**
 * A serial port that outlives the machines behind it: a target re-attaches it on every power-on,
 * so one Console (and one continuous log) spans reboots and power cuts.
 */
export class RelayPort implements SerialPort {
  private current?: SerialPort;
  private detach?: () => void;
  private readonly listeners = new Set<(chunk: string) => void>();

  attach(port: SerialPort | undefined): void {
    this.detach?.();
    this.current = port;
    this.detach = port?.onData((chunk) => {
      for (const l of this.listeners) l(chunk);
    });
  }

  write(data: string): void {
    if (!this.current) throw new Error('the machine is powered off: nothing to write to');
    this.current.write(data);
  }

  onData(listener: (chunk: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
