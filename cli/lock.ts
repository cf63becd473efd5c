import { resolveSelection } from '../buildroot/layers/workspace.ts';
import { lockedBootPackage } from '../buildroot/debian/bootloader.ts';
import { lockedPackages, planBuild } from '../buildroot/debian/compile.ts';
import { REFIND } from '../buildroot/debian/pc-disk.ts';
import { Progress } from '../buildroot/debian/progress.ts';
import { defineCommand } from './command.ts';

export const lock = defineCommand({
  description: 'Downloads and verifies the locked Debian packages of the selected configuration (images/debian-lock.json), resolving them first when the lock has no entry for it, and lists them.',
  flags: {
    update: { type: 'boolean', help: 'resolve them again against the mirror and rewrite the lock' },
  },
  async run({ flags, context }) {
    const ctx = context();
    const r = resolveSelection(ctx);
    const plan = planBuild(r);
    const progress = new Progress(1);
    progress.step(`Debian packages for ${plan.arch.debian}`);
    const update = Boolean(flags.update);
    const { packages } = await lockedPackages(ctx, r, plan, progress, update);
    // A board's U-Boot package, or a UEFI PC's rEFInd, and a Pi's GPU firmware are locked next to them
    // (taken apart for the card or disk, never installed).
    const boot = plan.card?.bootloader?.pkg ?? (plan.pcDisk?.firmware === 'efi' ? REFIND.pkg : undefined);
    if (boot) packages.push(await lockedBootPackage(ctx, plan.arch.debian, boot, progress, { forceUpdate: update }));
    const firmware = plan.card?.firmware;
    if (firmware) packages.push(await lockedBootPackage(ctx, plan.arch.debian, firmware.pkg, progress, { forceUpdate: update, component: firmware.component, key: 'FIRMWARE_PACKAGE' }));
    for (const p of packages) process.stdout.write(`${p.name.padEnd(28)} ${p.version.padEnd(28)} ${p.sha256.slice(0, 16)}\n`);
    return 0;
  },
});
