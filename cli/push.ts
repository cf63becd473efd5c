import path from 'node:path';
import { DEFAULT_TRIES, push as pushImage } from '../deploy/push.ts';
import { MAX_TRIES } from '../images/boot-slots.ts';
import { outDir } from '../images/paths.ts';
import { SkiffError } from '../lib/errors.ts';
import { defineCommand } from './command.ts';

/** A whole number flag within bounds, or an error naming the flag. */
function wholeNumber(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new SkiffError(`--${flag} ${value} is not a whole number from ${min} to ${max}`, `e.g. --${flag} ${fallback}`);
  return n;
}

export const push = defineCommand({
  usage: ['skiff push [user@]host [--port N] [--identity FILE] [--known-hosts FILE] [--accept-new-host-key] [--tries N] [--reboot [--wait SECONDS]] [--image DIR]'],
  description:
    "Sends the workspace's built image (or --image) to a running SkiffOS device over SSH (the system's\nssh; user root unless given) and writes it into the boot slot the device is not running from, checked\nagainst its sha256 as read back from the card; persist is not touched. Before anything is written it\nrefuses an unknown host key, a device of another architecture or board family, one still booting or\nnot running its good slot, a card without two slots, a boot partition without room, and a build file\nthat no longer matches its manifest. The next boot tries the new slot; a new image that restarts\n(a kernel panic) without reaching SKIFF_READY within --tries boots is dropped and the running image\nboots again (one that hangs needs a power cycle per try: no watchdog yet). --reboot reboots the\ndevice and waits for the new image's SKIFF_READY, printing the image before and after.\nUpstream's `scripts/push_image.bash root@host` and `make push ARGS=root@host` do the same.",
  flags: {
    port: { type: 'string', value: 'N', example: '22', help: "the SSH port (default: ssh's, 22 unless your ssh config says otherwise)" },
    identity: { type: 'string', value: 'FILE', example: '~/.ssh/id_ed25519', help: 'the private key to log in with (default: your ssh keys and agent)' },
    'known-hosts': { type: 'string', value: 'FILE', example: '~/.ssh/known_hosts', help: 'the known_hosts file (default: your ~/.ssh/known_hosts)' },
    'accept-new-host-key': { type: 'boolean', help: 'record the host key of a device seen for the first time (a changed key is still refused)' },
    tries: { type: 'string', value: 'N', example: String(DEFAULT_TRIES), help: `boots the new image gets to reach SKIFF_READY before the card falls back (1 to ${MAX_TRIES}, default ${DEFAULT_TRIES})` },
    reboot: { type: 'boolean', help: 'reboot into the new image and wait for its SKIFF_READY' },
    wait: { type: 'string', value: 'SECONDS', example: '300', help: 'with --reboot: how long to wait for the device to come back (default 300, at most 3600)' },
    image: { type: 'string', value: 'DIR', example: 'images/out/default', help: "the image folder to send (default: the workspace's)" },
  },
  positionals: [{ name: 'destination', help: '[user@]host of the device', required: true, example: 'root@192.168.1.20' }],
  async run({ flags, positionals, context }) {
    const tries = wholeNumber('tries', flags.tries, DEFAULT_TRIES, 1, MAX_TRIES);
    const waitSeconds = wholeNumber('wait', flags.wait, 300, 1, 3600);
    if (flags.wait !== undefined && !flags.reboot) throw new SkiffError('--wait is for --reboot: without it nothing waits', 'add --reboot, or drop --wait');
    const imageDir = flags.image ? path.resolve(flags.image) : outDir(context());
    await pushImage({
      destination: positionals[0]!,
      // No --port: ssh's own default (22, or the user's ssh config for that host).
      port: flags.port === undefined ? undefined : wholeNumber('port', flags.port, 22, 1, 65535),
      identity: flags.identity,
      knownHosts: flags['known-hosts'],
      acceptNewHostKey: Boolean(flags['accept-new-host-key']),
      imageDir,
      tries,
      reboot: Boolean(flags.reboot),
      waitSeconds,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    return 0;
  },
});
