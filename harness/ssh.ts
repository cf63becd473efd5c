import ssh2 from 'ssh2';

export interface SshOptions {
  host: string;
  port: number;
  user: string;
  privateKey?: string;
  password?: string;
}

/** Runs one command over SSH (ssh2); rejects with the server's reason when the login is refused. */
export function sshExec(opts: SshOptions, command: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const timer = setTimeout(() => {
      client.end();
      reject(new Error(`ssh ${opts.user}@${opts.host}:${opts.port}: no answer after ${timeoutMs / 1000} s`));
    }, timeoutMs);
    client
      .on('ready', () => {
        client.exec(command, (err, stream) => {
          if (err) {
            clearTimeout(timer);
            client.end();
            return reject(err);
          }
          let out = '';
          stream.on('data', (d: Buffer) => (out += d));
          stream.stderr.on('data', (d: Buffer) => (out += d));
          stream.on('close', () => {
            clearTimeout(timer);
            client.end();
            resolve(out);
          });
        });
      })
      .on('error', (err) => {
        clearTimeout(timer);
        // A refused login leaves the socket open otherwise, which keeps the CLI alive.
        client.destroy();
        reject(err);
      })
      .connect({ host: opts.host, port: opts.port, username: opts.user, privateKey: opts.privateKey, password: opts.password, readyTimeout: timeoutMs, tryKeyboard: false });
  });
}

/**
 * A fresh ed25519 key pair for a test login. ssh2's generator now and then (about 1 in 250 here)
 * writes a private key its own parser rejects as malformed: such a pair is thrown away.
 */
export function testKeyPair(comment: string): { public: string; private: string } {
  for (;;) {
    const keys = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (!(ssh2.utils.parseKey(keys.private) instanceof Error)) return keys;
  }
}
