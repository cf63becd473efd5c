// The system's OpenSSH client, as a person would run it to reach a device: the user's keys and
// known_hosts unless told otherwise, and its failures told as what to do (an unknown or changed
// host key is never waved through; a new one is recorded only when the user asked for that).
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { SkiffError } from '../lib/errors.ts';

export interface SshTarget {
  /** `[user@]host`, as given on the command line; user root when none is given. */
  destination: string;
  port?: number;
  /** A private key file (`ssh -i`); otherwise the user's own keys and agent. */
  identity?: string;
  /** A known_hosts file instead of the user's ~/.ssh/known_hosts. */
  knownHosts?: string;
  /** Record the host key of a host seen for the first time (ssh's accept-new); a changed key is still refused. */
  acceptNewHostKey?: boolean;
}

/**
 * An unknown or changed host key: the one connection failure never retried or waited out, since
 * waiting cannot make a key trusted.
 */
export class HostKeyRefused extends SkiffError {}

export interface SshResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Splits `[user@]host`, refusing what ssh would read as an option or what cannot be a host. */
export function parseDestination(destination: string): { user: string; host: string } {
  const m = /^(?:([^@\s]+)@)?([^@\s]+)$/.exec(destination);
  if (!m || destination.startsWith('-') || m[2]!.startsWith('-')) {
    throw new SkiffError(`"${destination}" is not a device to push to`, 'give it as [user@]host, e.g. `skiff push root@192.168.1.20` (the port with --port)');
  }
  // host:port as messages print it (an IPv6 address has more than one colon).
  const withPort = /^([^:]+):(\d+)$/.exec(m[2]!);
  if (withPort) throw new SkiffError(`"${destination}" names a port in the host`, `give the port with --port: \`skiff push ${m[1] ? `${m[1]}@` : ''}${withPort[1]} --port ${withPort[2]}\``);
  return { user: m[1] ?? 'root', host: m[2]! };
}

export class SshSession {
  readonly user: string;
  readonly host: string;

  constructor(private readonly target: SshTarget) {
    ({ user: this.user, host: this.host } = parseDestination(target.destination));
    if (target.identity && !fs.existsSync(target.identity)) {
      throw new SkiffError(`the key ${target.identity} (--identity) does not exist`, 'give the private key file whose public half is in skiff/keys/ on the device');
    }
  }

  /** How messages name the device. */
  get name(): string {
    return `${this.user}@${this.host}${this.target.port ? `:${this.target.port}` : ''}`;
  }

  private args(command: string): string[] {
    const t = this.target;
    return [
      '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=15',
      '-o', 'ServerAliveInterval=10',
      '-o', `StrictHostKeyChecking=${t.acceptNewHostKey ? 'accept-new' : 'yes'}`,
      // Quoted: ssh splits the option's value at spaces into several files.
      ...(t.knownHosts ? ['-o', `UserKnownHostsFile="${t.knownHosts}"`] : []),
      ...(t.identity ? ['-i', t.identity, '-o', 'IdentitiesOnly=yes'] : []),
      ...(t.port ? ['-p', String(t.port)] : []),
      '-l', this.user,
      '--', this.host, command,
    ];
  }

  /** Runs a command on the device; the connection's own failures are thrown as what to do. */
  async run(command: string, input?: Readable): Promise<SshResult> {
    const r = await execa('ssh', this.args(command), { reject: false, stripFinalNewline: false, ...(input ? { input } : { stdin: 'ignore' }) });
    if ((r as { code?: string }).code === 'ENOENT') throw new SkiffError('there is no ssh program on this machine', 'install an OpenSSH client (Debian: openssh-client)');
    if (r.failed && r.exitCode === undefined) throw new SkiffError(`ssh did not finish: ${r.shortMessage}`);
    const result = { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 1 };
    if (result.exitCode === 255) throw this.connectionError(result.stderr);
    return result;
  }

  /** Like run, but a non-zero exit is an error quoting what the device said. */
  async check(command: string, what: string, input?: Readable): Promise<string> {
    const r = await this.run(command, input);
    if (r.exitCode !== 0) throw new SkiffError(`${what} on ${this.name} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  private connectionError(stderr: string): SkiffError {
    const said = stderr.trim().split('\n').filter((l) => !/^\s*$/.test(l)).slice(-3).join(' / ');
    const known = this.target.knownHosts ?? '~/.ssh/known_hosts';
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
      return new HostKeyRefused(
        `the host key of ${this.name} is not the one in ${known}: nothing was sent`,
        `if the device's persist was wiped or replaced, check its new key on its console, then remove the old one: ssh-keygen -R ${this.host}${this.target.knownHosts ? ` -f ${this.target.knownHosts}` : ''}`,
      );
    }
    if (/Host key verification failed|host key is known|No .* host key is known/.test(stderr)) {
      return new HostKeyRefused(
        `the host key of ${this.name} is not known (not in ${known}): nothing was sent`,
        'connect once with ssh and check the key, or pass --accept-new-host-key to record it on this first contact',
      );
    }
    if (/Permission denied/.test(stderr)) {
      return new SkiffError(
        `${this.name} refused the login: ${said}`,
        `put your public key in skiff/keys/ on the device's persist partition${this.target.identity ? '' : ', or name the matching private key with --identity'}`,
      );
    }
    return new SkiffError(`cannot reach ${this.name} over SSH: ${said || 'ssh exited with 255'}`, 'check that the device is up and on the network, and the address and --port');
  }
}
