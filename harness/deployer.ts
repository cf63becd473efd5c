// `skiff test --deploy`: the harness puts a build on its target with `skiff push` (deploy/push.ts,
// the system's OpenSSH client), logging in with a key it authorizes through the console and
// trusting the host key the device shows on that same console, never one first seen over the network.
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DeviceInfo, describeRunning } from '../deploy/device-info.ts';
import { push, type PushResult, readInfo, slotFiles } from '../deploy/push.ts';
import { SshSession } from '../deploy/ssh.ts';
import { slotDir } from '../images/boot-slots.ts';
import type { Manifest } from '../images/manifest.ts';
import { SkiffError } from '../lib/errors.ts';
import { sh } from './scenarios.ts';
import type { Target } from './target.ts';

/** What `--deploy` sends, and how it logs in; checked before any target is opened. */
export interface DeployPlan {
  how: 'ssh';
  /** images/out/<workspace>/ of the build to deploy. */
  build: string;
  manifest: Manifest;
  /** The lab file's private key for the board (ssh.key); otherwise the harness makes one. */
  key?: string;
}

/** The sha256 a device reports as its running image when it runs `manifest`'s build (slot-info.sh's `image`). */
export function builtImage(manifest: Manifest): string {
  const out = manifest.outputs[`boot/${slotDir('a')}/initramfs.cpio.zst`];
  if (!out) throw new SkiffError(`the build (${manifest.chain.join(',')}) has no boot/slot-a/initramfs.cpio.zst`, 'deploy a build of a board whose layers set BOOT_SLOTS=ab');
  return out.sha256;
}

/** Checks the plan's build as `skiff push` would before sending it: every refusal comes before a target exists. */
export function checkDeployBuild(build: string, manifest: Manifest): void {
  slotFiles(build, manifest);
  if (!manifest.family) throw new SkiffError(`${build}/manifest.json does not name the board family (built before skiff push)`, 'build the image again with `skiff compile`');
}

/** A public key line as OpenSSH writes it, or as dropbearkey -y prints the host key. */
const PUBLIC_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+/m;

export class Deployer {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-deploy-'));
  private readonly knownHosts = path.join(this.dir, 'known_hosts');
  private readonly key: string;

  constructor(
    readonly plan: DeployPlan,
    private readonly target: Target,
  ) {
    this.key = plan.key ?? path.join(this.dir, 'id_ed25519');
  }

  /** The running image a device reports for the planned build. */
  get expectedImage(): string {
    return builtImage(this.plan.manifest);
  }

  private session(): SshSession {
    const { host, port } = this.address();
    return new SshSession({ destination: `root@${host}`, port, identity: this.key, knownHosts: this.knownHosts });
  }

  private address(): { host: string; port: number } {
    const at = this.target.sshAddress?.();
    if (!at) throw new SkiffError(`${this.target.name} (${this.target.kind}) cannot be reached over SSH, so it cannot be deployed to`, 'use a qemu target, or a lab target with ssh: and deploy: ssh');
    return at;
  }

  /**
   * Lets the harness log in as root on the running target: its key in skiff/keys/ on persist (boot
   * collects it into authorized_keys from then on) and in this boot's authorized_keys, and the
   * device's host key, read on the console, as the only entry of a known_hosts file.
   */
  async connect(): Promise<void> {
    const t = this.target;
    if (!fs.existsSync(this.key)) await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'skiff-test-deploy', '-f', this.key]);
    const pub = (await execa('ssh-keygen', ['-y', '-f', this.key])).stdout.trim();
    // The host key first: a device without one is refused before anything is written to it.
    const shown = await sh(t, `/usr/bin/dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key`);
    const hostKey = PUBLIC_KEY.exec(shown)?.[0];
    if (!hostKey) throw new SkiffError(`${t.name} did not show its SSH host key on the console: ${shown.split('\n').slice(-3).join(' / ')}`, 'is its SSH server (dropbear) set up? See the console log');
    await sh(t, `mkdir -p /mnt/persist/skiff/keys && echo '${pub}' > /mnt/persist/skiff/keys/skiff-test-deploy.pub && sync`);
    await sh(t, `mkdir -p /root/.ssh && (grep -qxF '${pub}' /root/.ssh/authorized_keys 2>/dev/null || echo '${pub}' >> /root/.ssh/authorized_keys)`);
    const { host, port } = this.address();
    fs.writeFileSync(this.knownHosts, `${port === 22 ? host : `[${host}]:${port}`} ${hostKey}\n`);
  }

  /** The device's own account of its running image, waiting up to `seconds` for it to answer (a DHCP lease, a late SSH server). */
  async info(seconds = 90): Promise<DeviceInfo> {
    const session = this.session();
    const started = Date.now();
    for (;;) {
      try {
        const info = await readInfo(session);
        if (info.ready === 'yes') return info;
      } catch (err) {
        if (Date.now() - started > seconds * 1000) throw err;
      }
      if (Date.now() - started > seconds * 1000) throw new SkiffError(`${session.name} has not finished booting after ${seconds} s (no SKIFF_READY)`, 'see the console log');
      await sleep(2000);
    }
  }

  /**
   * `skiff push` of `build` (this plan's build unless told), restarting a target that cannot
   * restart by itself whenever its guest asks (the reboot, a panicking image's tries).
   */
  async push(o: { build?: string; reboot: boolean; tries?: number; log?: (line: string) => void }): Promise<PushResult> {
    const { host, port } = this.address();
    const stop = o.reboot ? this.target.restartOnReboot?.() : undefined;
    try {
      return await push({
        destination: `root@${host}`,
        port,
        identity: this.key,
        knownHosts: this.knownHosts,
        imageDir: o.build ?? this.plan.build,
        tries: o.tries ?? 2,
        reboot: o.reboot,
        waitSeconds: 600,
        log: o.log ?? (() => {}),
      });
    } finally {
      stop?.();
    }
  }

  /** Fails unless `info` is the planned build, with what the device said instead. */
  expectBuild(info: DeviceInfo | undefined, when: string): DeviceInfo {
    if (!info) throw new SkiffError(`${when}: the device did not report its image`);
    const version = this.plan.manifest.skiff;
    if (info.image !== this.expectedImage || info.version !== version) {
      throw new SkiffError(
        `${when}: the device runs ${describeRunning(info)}, not the build deployed (${version}, image ${this.expectedImage.slice(0, 12)})`,
        'see the console log for the boot that came up',
      );
    }
    return info;
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
