/** A byte stream to and from a machine's console: a v86 serial port, a QEMU pty, a USB serial adapter. */
export interface SerialPort {
  write(data: string): void;
  /** Subscribes to output; returns the unsubscribe function. */
  onData(listener: (chunk: string) => void): () => void;
}
