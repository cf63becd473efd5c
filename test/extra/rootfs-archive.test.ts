// virt/docker and virt/wsl: the root filesystem as the archive `docker import` and `wsl --import`
// take, built for real from Debian's packages (no kernel), unpacked as root and started in a
// chroot inside new mount, UTS, IPC, network and PID namespaces, as a container runtime starts it:
// `/sbin/init` as the first process for docker, wsl.conf's boot command for WSL. Outside `npm test`
// only because the suite's time has no room for new builds (README, Tests); about 20 s.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../images/manifest.ts';
import { sha256File } from '../../buildroot/debian/apt.ts';
import { buildImage } from '../support/image.ts';

const asRoot = process.getuid?.() === 0;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-rootfs-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Every member of a tar archive as `tar -tv` shows it: type and mode, owner, name (and link target). */
function members(archive: string): { type: string; owner: string; name: string; target?: string }[] {
  const out = execFileSync('tar', ['--list', '--verbose', '--numeric-owner', '--file', archive], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^(\S)\S+ (\S+) +\d+ \S+ \S+ (.*?)(?: -> (.*))?$/.exec(line);
      if (!m) throw new Error(`tar printed a line this test cannot read: ${line}`);
      return { type: m[1]!, owner: m[2]!, name: m[3]!, ...(m[4] ? { target: m[4] } : {}) };
    });
}

function checkMembers(archive: string) {
  const list = members(archive);
  const names = list.map((m) => m.name);
  // What docker import and wsl --import need: relative names, nothing climbing out, owned by root.
  expect(names.filter((n) => n.startsWith('/') || n.startsWith('./') || n.split('/').includes('..'))).toEqual([]);
  expect([...new Set(list.map((m) => m.owner))]).toEqual(['0/0']);
  // No device nodes: the runtime gives /dev.
  expect(list.filter((m) => m.type === 'c' || m.type === 'b').map((m) => m.name)).toEqual([]);
  for (const n of ['bin/busybox', 'etc/inittab', 'etc/init.d/rcS', 'etc/skiff/release', 'etc/passwd', 'usr/sbin/dropbear', 'opt/skiff/scripts/mount-all.sh']) expect(names, n).toContain(n);
  expect(list.find((m) => m.name === 'sbin/init')?.target).toBe('/bin/busybox');
  expect(list.find((m) => m.name === 'bin/sh')?.target).toBe('busybox');
  return names;
}

/** A root filesystem started in new namespaces, its output collected; `stop` ends it as `docker stop` does. */
class Started {
  out = '';
  /** How unshare ended: its exit code, or the signal that ended it (the first process's, passed on). */
  readonly exited: Promise<number | string | null>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.out += d));
    child.stderr!.on('data', (d: Buffer) => (this.out += d));
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  }

  async waitFor(re: RegExp, ms = 20_000): Promise<string> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const m = re.exec(this.out);
      if (m) return m[0];
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no ${re} within ${ms / 1000} s; the output was:\n${this.out}`);
  }

  /** The first process inside (the child of unshare --fork). */
  get initPid(): number {
    const pid = this.child.pid!;
    return Number(fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0]);
  }

  /** A command inside, as `docker exec` runs one: the same namespaces and root. */
  exec(script: string): string {
    return execFileSync('nsenter', ['-t', String(this.initPid), '-m', '-u', '-i', '-n', '-p', '-r', '-w', '/bin/sh', '-c', script], { encoding: 'utf8' });
  }

  async stop(): Promise<number | string | null> {
    process.kill(this.initPid, 'SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/**
 * Starts `command` in `root` as a privileged container gets it: its own namespaces, a fresh /proc and /sys,
 * /dev a tmpfs with the usual devices and no console, an eth0 the runtime configured (one end of a
 * veth pair whose other end stays down: no packet leaves the namespace), and `volume` (if any)
 * mounted at /mnt/persist.
 */
/** eth0's address as the runtime set it, from the documentation range (RFC 5737). */
const ETH0 = '192.0.2.2/24';

function start(root: string, command: string[], volume?: string): Started {
  const setup = [
    'set -e',
    `mount -t proc proc "${root}/proc"`,
    `mount -t tmpfs -o mode=755 tmpfs "${root}/dev"`,
    `for n in null zero random urandom tty; do touch "${root}/dev/$n"; mount --bind "/dev/$n" "${root}/dev/$n"; done`,
    `"${root}/bin/busybox" ip link add eth0 type veth peer name host0`,
    `"${root}/bin/busybox" ip addr add ${ETH0} dev eth0`,
    `"${root}/bin/busybox" ip link set eth0 up`,
    // After eth0 is made: sysfs shows the network namespace that mounts it.
    `mount -t sysfs sysfs "${root}/sys"`,
    ...(volume ? [`mount --bind "${volume}" "${root}/mnt/persist"`] : []),
    `exec chroot "${root}" ${command.join(' ')}`,
  ].join('\n');
  const child = spawn('unshare', ['--mount', '--uts', '--ipc', '--net', '--pid', '--fork', '--kill-child', '--propagation', 'private', 'sh', '-c', setup], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  return new Started(child);
}

function unpack(archive: string, name: string): string {
  const root = path.join(scratch, name);
  fs.mkdirSync(root, { recursive: true });
  execFileSync('tar', ['--extract', '--same-permissions', '--numeric-owner', '--file', archive, '--directory', root]);
  return root;
}

describe('virt/docker: rootfs.tar for docker import', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await buildImage('virt/docker', 'test-rootfs-docker', {}, 5 * 60_000);
  }, 6 * 60_000);

  it('is a plain tar of the root, named in the manifest, with no kernel', () => {
    const m = readManifest(dir);
    expect(m.bootMethod).toBe('container');
    expect(m.kernel).toBeUndefined();
    expect(m.rootfsArchive).toEqual({ file: 'rootfs.tar', importCommand: 'docker import rootfs.tar skiffos' });
    expect(Object.keys(m.outputs)).toEqual(['rootfs.tar']);
    expect(m.outputs['rootfs.tar']!.sha256).toBe(sha256File(path.join(dir, 'rootfs.tar')));
    const names = checkMembers(path.join(dir, 'rootfs.tar'));
    // The container runs the same userland the other images' initramfs holds.
    expect(names).toContain('sbin/e2fsck');
  });

  it.skipIf(!asRoot)('starts as /sbin/init, keeps its state on a volume at /mnt/persist, and stops on SIGTERM', async () => {
    const root = unpack(path.join(dir, 'rootfs.tar'), 'docker');
    const volume = fs.mkdtempSync(path.join(scratch, 'volume-'));
    const first = start(root, ['/sbin/init'], volume);
    try {
      // The console lines reach init's output (docker logs) though the runtime gives no /dev/console.
      await first.waitFor(/^SKIFF_READY \S+ [\d.]+$/m);
      expect(first.out).toContain('skiff: persist: /mnt/persist is a volume the container runtime mounted');
      expect(first.exec('cat /etc/skiff/release')).toMatch(/^SKIFF_CONFIG=virt\/docker$/m);
      expect(first.exec('cat /etc/skiff/release')).toMatch(/^SKIFF_KERNEL=host$/m);
      // busybox's applet links were made at start: `docker exec NAME ls` finds ls.
      expect(first.exec('ls /bin/ls; cat /run/skiff-ready')).toMatch(/^\/bin\/ls\nSKIFF_READY /);
      // The network is the runtime's: no DHCP client took eth0 or its address; the SSH server runs.
      expect(first.exec('ip -4 addr show eth0')).toContain(`inet ${ETH0}`);
      expect(first.exec('ps')).not.toContain('udhcpc');
      expect(first.exec('ps')).toContain('/usr/sbin/dropbear');
      expect(first.exec('ps')).not.toContain('klogd');
      expect(first.exec('hostname')).toBe('skiffos\n');
    } finally {
      // Not the SIGKILL stop() sends after 20 s: init ended by itself.
      expect(await first.stop()).not.toBe('SIGKILL');
    }
    // docker stop: busybox init runs rcK, then the namespace ends.
    expect(first.out).toContain('The system is going down NOW!');
    const id = fs.readFileSync(path.join(volume, 'skiff/machine-id'), 'utf8');
    expect(id).toMatch(/^[0-9a-f]{32}\n$/);
    expect(fs.existsSync(path.join(volume, 'skiff/ssh/dropbear_ed25519_host_key'))).toBe(true);

    // A new container on the same volume: the same machine-id, the host name kept there.
    fs.writeFileSync(path.join(volume, 'skiff/hostname'), 'kept-name\n');
    const second = start(root, ['/sbin/init'], volume);
    try {
      await second.waitFor(/^SKIFF_READY /m);
      expect(second.exec('cat /etc/machine-id; hostname')).toBe(`${id}kept-name\n`);
    } finally {
      await second.stop();
    }
  }, 90_000);

  it.skipIf(!asRoot)('without a volume says that its state goes with the container', async () => {
    const root = unpack(path.join(dir, 'rootfs.tar'), 'docker-novolume');
    const c = start(root, ['/sbin/init']);
    try {
      await c.waitFor(/^SKIFF_READY /m);
      expect(c.out).toContain('skiff: persist: no volume at /mnt/persist, so state goes with this container (keep it with: docker run -v skiff-persist:/mnt/persist ...)');
    } finally {
      await c.stop();
    }
  }, 60_000);
});

describe('virt/wsl: rootfs.tar.gz for wsl --import', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await buildImage('virt/wsl', 'test-rootfs-wsl', {}, 5 * 60_000);
  }, 6 * 60_000);

  it('is a gzip\'d tar of the root with a wsl.conf that runs SkiffOS\'s boot script as root', () => {
    const m = readManifest(dir);
    expect(m.bootMethod).toBe('wsl');
    expect(m.kernel).toBeUndefined();
    expect(m.rootfsArchive?.file).toBe('rootfs.tar.gz');
    expect(Object.keys(m.outputs)).toEqual(['rootfs.tar.gz']);
    const archive = path.join(dir, 'rootfs.tar.gz');
    expect(fs.readFileSync(archive).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(checkMembers(archive)).toContain('etc/wsl.conf');
    const conf = execFileSync('tar', ['--extract', '--to-stdout', '--file', archive, 'etc/wsl.conf'], { encoding: 'utf8' });
    expect(conf).toMatch(/^\[boot\]\ncommand = \/etc\/init\.d\/rcS$/m);
    expect(conf).toMatch(/^\[user\]\ndefault = root$/m);
  });

  it.skipIf(!asRoot)('runs the boot command under a foreign init: persist is a folder on the distribution\'s disk', async () => {
    const root = unpack(path.join(dir, 'rootfs.tar.gz'), 'wsl');
    const conf = fs.readFileSync(path.join(root, 'etc/wsl.conf'), 'utf8');
    const command = /^command = (.*)$/m.exec(conf)![1]!;
    // WSL's own init is the first process; here a shell stands in for it and runs the boot command.
    const c = start(root, ['/bin/sh', '-c', `'${command}; echo boot command done; exec sleep 600'`]);
    try {
      await c.waitFor(/^boot command done$/m);
      expect(c.out).toMatch(/^SKIFF_READY /m);
      expect(c.out).toContain('skiff: persist: /mnt/persist is a folder on this WSL distribution\'s own disk, kept across restarts');
      expect(c.exec('cat /run/skiff-ready; cat /etc/skiff/release')).toMatch(/^SKIFF_READY [\d.]+ [\d.]+\n[^]*^SKIFF_BOOT_METHOD=wsl$/m);
      expect(c.exec('ip -4 addr show eth0')).toContain(`inet ${ETH0}`);
      expect(c.exec('ps')).not.toContain('udhcpc');
    } finally {
      c.child.kill('SIGKILL');
      await c.exited;
    }
    expect(fs.readFileSync(path.join(root, 'mnt/persist/skiff/machine-id'), 'utf8')).toMatch(/^[0-9a-f]{32}\n$/);
  }, 60_000);
});
