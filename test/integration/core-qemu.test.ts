import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Console } from '../../harness/console.ts';
import { freePort, QemuMachine } from '../../harness/qemu.ts';
import { sshExec, testKeyPair } from '../../harness/ssh.ts';
import { buildImage, buildTimeout, skiffAsync } from '../support/image.ts';
import { IMAGES } from '../support/test-kernels.ts';
import { tempDir } from '../support/tree.ts';
import { BOOT_MARKER_LINE } from '../../images/boot-marker.ts';
import { readManifest } from '../../images/manifest.ts';

// Skiff Core on virt/qemu: the manager, crun and the Debian core image built offline, booted in QEMU.
// Every image here has the kernel of virt/qemu,skiff/core,apps/docker (test/layers/README.md).
let imageDir = '';
const machines: QemuMachine[] = [];

beforeAll(async () => {
  if (process.getuid?.() === 0) imageDir = await buildImage(IMAGES.amd64.qemuCore, 'test-core');
}, buildTimeout(1));

afterEach(async () => {
  for (const m of machines.splice(0)) await m.powerOff();
}, 60_000);

async function boot(disk: string, dir = imageDir, diskBytes?: number, sshPort?: number) {
  const machine = new QemuMachine({ imageDir: dir, disk, memoryMB: 512, diskBytes, sshPort });
  machines.push(machine);
  const console = new Console(machine);
  await console.waitFor(BOOT_MARKER_LINE, 180_000);
  await console.run('true');
  return { machine, console };
}

/** A config.yaml written on the guest's persist, one printf argument per line. */
function writeConfig(lines: string[]): string {
  return `printf '%s\\n' ${lines.map((l) => `'${l}'`).join(' ')} > /mnt/persist/skiff/core/config.yaml && sync`;
}

const IMAGE = 'skiffos/skiff-core-debian:bookworm';

/** An interactive `su - core`: bash's prompt within promptMs, a pty inside the container, TERM passed through; runs `also` there, then logs out. */
async function interactiveLogin(console: Console, also: string, promptMs: number) {
  console.skipAll();
  console.send('TERM=xterm-256color su - core\n');
  // Debian's bash prompt, coloured for this TERM: core@skiffos (the host's name: hostUTS), then ~.
  await console.waitFor(/core@skiffos[^\n]*~[^\n]*\$ $/m, promptMs);
  console.send(`echo "tty=$(tty) term=$TERM end"; ${also}\n`);
  // [^$]: not the echo of the command line itself.
  const tty = await console.waitFor(/tty=([^$\s]\S*) term=([^$\s]\S*) end/, 30_000);
  expect(tty[1]).toMatch(/^\/dev\/pts\/\d+$/);
  expect(tty[2]).toBe('xterm-256color');
  console.send('exit\n');
  // Back on the host: its shell discards what was typed before its prompt, so wait for the prompt.
  await console.waitFor(/logout\r?\n[\s\S]*root@skiffos:\/# /, 30_000);
}

// debootstrap chroots: the core image builds as root only (CI is root; the build says so otherwise).
describe.skipIf(process.getuid?.() !== 0)('Skiff Core on virt/qemu', () => {
  it('ships the manager, crun and the Debian core image', () => {
    const manifest = readManifest(imageDir);
    expect(manifest.core?.image).toBe(IMAGE);
    expect(fs.statSync(path.join(imageDir, manifest.core!.file!)).size).toBeGreaterThan(10e6);
    expect(manifest.core?.packages.some((p) => p.startsWith('bash '))).toBe(true);
    expect(manifest.packages.map((p) => p.name)).toContain('crun');
  }, 10_000);

  it('drops core into Debian, with a real TTY, and keeps its home across a reboot', async () => {
    const disk = path.join(tempDir(), 'persist.img');
    const first = await boot(disk);
    // The host is busybox, not Debian: what su shows comes from the container.
    expect((await first.console.run('cat /etc/os-release')).status).not.toBe(0);
    const release = await first.console.run("su - core -c 'cat /etc/os-release; id -un; pwd'", 120_000);
    expect(release.output).toContain('ID=debian');
    expect(release.output).toMatch(/^core$/m);
    expect(release.output).toMatch(/^\/home\/core$/m);
    // A login gets its groups from the container's /etc/group (sudo needs that), and a user other
    // than root holds no capabilities of the privileged container.
    expect((await first.console.run('crun --root /run/skiff-core/crun exec core usermod -aG audio,video core')).status).toBe(0);
    const ids = await first.console.run("su - core -c 'id -Gn; grep CapEff /proc/self/status'", 60_000);
    expect(ids.output.split('\n')[0]!.split(' ').sort()).toEqual(['audio', 'core', 'video']);
    expect(ids.output).toMatch(/^CapEff:\s+0+$/m);
    // The default config was installed on persist on first boot.
    expect((await first.console.run('grep -c containerUser /mnt/persist/skiff/core/config.yaml')).output.trim()).toBe('1');

    await interactiveLogin(first.console, 'echo kept-across-reboots > ~/note.txt; sync', 60_000);
    await first.console.run('sync');
    await first.machine.powerOff();

    const second = await boot(disk);
    const note = await second.console.run("su - core -c 'cat ~/note.txt'", 120_000);
    expect(note.output).toContain('kept-across-reboots');
    // Imported once: the image lives on persist now.
    expect((await second.console.run('ls /mnt/persist/skiff/core/images/')).output).toContain('.squashfs');

    // A power cut can keep the account and lose its new home (the bench met it in the browser):
    // the next login gives core a fresh home instead of failing to chdir.
    await second.console.run('crun --root /run/skiff-core/crun delete -f core; umount /run/skiff-core/containers/core/rootfs; rm -rf /mnt/persist/skiff/core/containers/core/upper/home/core', 60_000);
    const fresh = await second.console.run("su - core -c 'pwd; ls -A ~'", 120_000);
    expect(fresh.output).toMatch(/^\/home\/core$/m);
    expect(fresh.output).toContain('.bashrc');
  }, 10 * 60_000);

  it('passes the core scenario through skiff test --target qemu, as the issue has a user run it', async () => {
    const r = await skiffAsync(['test', '--target', 'qemu', '--scenario', 'core'], { SKIFF_WORKSPACE: 'test-core' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('1 passed, 0 failed');
  }, 15 * 60_000);

  it('lets core in over SSH with root\'s key (copyRootKeys): ssh core@host cmd runs in Debian', async () => {
    const disk = path.join(tempDir(), 'persist.img');
    const keys = testKeyPair('skiff-core-test');
    const first = await boot(disk);
    expect((await first.console.run(`echo '${keys.public}' > /mnt/persist/skiff/keys/test.pub && sync`)).status).toBe(0);
    await first.machine.powerOff();

    const port = await freePort();
    await boot(disk, imageDir, undefined, port);
    const out = await sshExec({ host: '127.0.0.1', port, user: 'core', privateKey: keys.private }, '. /etc/os-release; echo "$ID as $(id -un) in $PWD"', 180_000);
    expect(out).toContain('debian as core in /home/core');
  }, 10 * 60_000);

  it('keeps two users in two containers apart, shows setup progress, and survives a broken config', async () => {
    const disk = path.join(tempDir(), 'persist.img');
    const m = await boot(disk);
    await m.console.run("su - core -c 'true'", 120_000);
    const twoUsers = [
      'containers:', '  a:', `    image: ${IMAGE}`, '    hostNetwork: true', '  b:', `    image: ${IMAGE}`, '    hostNetwork: true',
      'users:', '  alice:', '    container: a', '  bob:', '    container: b',
      'images:', `  ${IMAGE}:`, '    build:', '      source: /opt/skiff/coreenv/debian',
    ];
    expect((await m.console.run(writeConfig(twoUsers))).status).toBe(0);
    expect((await m.console.run('skiff-core check')).output).toContain('2 containers, 2 users');
    expect((await m.console.run('skiff-core setup', 180_000)).status).toBe(0);
    // Each container has its own host name (no hostUTS), its own writable layer on persist.
    expect((await m.console.run("su - alice -c 'echo from-alice > ~/mine.txt; hostname'", 60_000)).output.trim().split('\n').pop()).toBe('a');
    const bob = await m.console.run("su - bob -c 'ls ~; cat ~/mine.txt'", 60_000);
    expect(bob.output).toMatch(/No such file/);
    expect(bob.output).not.toContain('from-alice');

    // A login that finds its container not set up does the setup itself and shows it.
    await m.console.run('crun --root /run/skiff-core/crun delete -f a; umount /run/skiff-core/containers/a/rootfs; umount /run/skiff-core/images/*; rm -f /mnt/persist/skiff/core/images/*.squashfs; true', 60_000);
    const late = await m.console.run("su - alice -c 'echo shell-after-setup; cat ~/mine.txt'", 180_000);
    expect(late.output).toMatch(/importing image skiffos\/skiff-core-debian:bookworm: \d+%/);
    expect(late.output).toContain('shell-after-setup');
    expect(late.output).toContain('from-alice');

    // Mistakes: an unknown key breaks container b (and so bob); alice keeps working; root too.
    const broken = [
      'containers:', '  a:', `    image: ${IMAGE}`, '  b:', `    image: ${IMAGE}`, '    imagee: typo',
      'users:', '  alice:', '    container: a', '  bob:', '    container: b',
      'images:', `  ${IMAGE}:`, '    build:', '      source: /opt/skiff/coreenv/debian',
    ];
    await m.console.run(writeConfig(broken));
    await m.console.run('sync');
    await m.machine.powerOff();

    const after = await boot(disk);
    const log = await after.console.run('sleep 1; cat /mnt/persist/skiff/core/skiff-core.log');
    expect(log.output).toContain('/mnt/persist/skiff/core/config.yaml:6: containers.b.imagee: unknown key');
    expect((await after.console.run('id -un')).output.trim()).toBe('root');
    expect((await after.console.run("su - alice -c 'cat ~/mine.txt'", 120_000)).output).toContain('from-alice');
    const refused = await after.console.run("su - bob -c 'echo should-not-run'", 60_000);
    expect(refused.output).not.toContain('should-not-run');
    expect(refused.output).toContain('containers.b.imagee: unknown key');

    // Not YAML at all: named with its line; root still logs in.
    await after.console.run(`printf 'containers:\\n  a: [\\n' > /mnt/persist/skiff/core/config.yaml`);
    const syntax = await after.console.run('skiff-core check');
    expect(syntax.status).not.toBe(0);
    expect(syntax.output).toMatch(/config\.yaml:\d+: \(file\): not valid YAML/);
  }, 15 * 60_000);

  // With apps/docker in the build docker is the runtime, as upstream's: the core image is imported
  // into docker's data root on persist, the container is docker's, a login is a docker exec.
  it('runs core in docker when apps/docker is in the build, and keeps it across a reboot', async () => {
    const dir = await buildImage(IMAGES.amd64.qemuDocker, 'test-core-docker');
    const disk = path.join(tempDir(), 'persist.img');
    const bootDocker = async () => {
      // The host's programs live in RAM, docker's among them.
      const machine = new QemuMachine({ imageDir: dir, disk, memoryMB: 1024 });
      machines.push(machine);
      const console = new Console(machine);
      await console.waitFor(BOOT_MARKER_LINE, 180_000);
      await console.run('true');
      return { machine, console };
    };
    const first = await bootDocker();
    const release = await first.console.run("su - core -c 'cat /etc/os-release; id -un; echo kept-in-docker > ~/note.txt; sync'", 15 * 60_000);
    expect(release.output).toContain('ID=debian');
    expect(release.output).toMatch(/^core$/m);
    expect(release.output).toMatch(/importing image skiffos\/skiff-core-debian:bookworm into docker/);
    expect((await first.console.run("docker ps --format '{{.Names}} {{.Image}}'")).output.trim()).toBe(`core ${IMAGE}`);
    expect((await first.console.run("docker info --format '{{.DockerRootDir}}'")).output.trim()).toBe('/mnt/persist/skiff/docker');
    // docker exec by user name: the groups of the container's /etc/group come along.
    expect((await first.console.run('docker exec core usermod -aG audio core')).status).toBe(0);
    expect((await first.console.run("su - core -c 'id -Gn'", 60_000)).output.trim().split(' ').sort()).toEqual(['audio', 'core']);
    await interactiveLogin(first.console, 'true', 120_000);
    await first.console.run('sync');
    await first.machine.powerOff();

    // The container, its image and its files are on persist: the next boot only starts it.
    const second = await bootDocker();
    const note = await second.console.run("su - core -c 'cat ~/note.txt'", 5 * 60_000);
    expect(note.output).toContain('kept-in-docker');
    expect(note.output).not.toContain('importing image');
  }, buildTimeout(1, 30 * 60_000));

  // What an arm board does with its core image (the build host cannot run arm programs), tried on
  // amd64 where QEMU is quick: debootstrap --foreign at build time, the second stage on the device.
  it('finishes a core image on the device at its first use, with progress, then drops core into Debian', async () => {
    const layers = tempDir();
    fs.mkdirSync(path.join(layers, 'test/core_on_device/debian'), { recursive: true });
    fs.writeFileSync(path.join(layers, 'test/core_on_device/debian/config'), 'CORE_ROOTFS_ON_DEVICE=yes\n');
    const dir = await buildImage(`${IMAGES.amd64.qemuCore},test/core_on_device`, 'test-core-on-device', { SKIFF_EXTRA_CONFIGS_PATH: layers });
    const manifest = readManifest(dir);
    expect(manifest.core?.finishedOnDevice).toBe(true);
    expect(manifest.core?.packages.some((p) => /^bash \d/.test(p))).toBe(true);

    const disk = path.join(tempDir(), 'persist.img');
    const m = await boot(disk, dir, 1024 * 1024 * 1024);
    const first = await m.console.run("su - core -c '. /etc/os-release; echo in-$ID-as-$(id -un)'", 20 * 60_000);
    expect(first.output).toMatch(/setting up image skiffos\/skiff-core-debian:bookworm \(debootstrap's second stage\): \d+%/);
    expect(first.output).toContain('in-debian-as-core');
    // Every package configured, as debootstrap on the build host would have left them.
    const status = await m.console.run("su - core -c \"dpkg-query -W -f='\\${db:Status-Status}\\n' | sort | uniq -c\"", 120_000);
    expect(status.output).toMatch(/^\s*\d+ installed\s*$/m);
    expect(status.output).not.toMatch(/unpacked|half/);
    expect((await m.console.run('ls /mnt/persist/skiff/core/images/')).output).toMatch(/\.rootfs\.finished/);
    await m.console.run('sync');
    await m.machine.powerOff();

    // Finished once: the next boot's login goes straight in.
    const again = await boot(disk, dir, 1024 * 1024 * 1024);
    const second = await again.console.run("su - core -c 'echo again-$(id -un)'", 120_000);
    expect(second.output).toContain('again-core');
    expect(second.output).not.toContain('second stage');
  }, buildTimeout(1, 35 * 60_000));
});
