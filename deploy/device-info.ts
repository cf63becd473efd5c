// What a running SkiffOS device says about itself and its card: the name=value lines of
// /opt/skiff/scripts/slot-info.sh (configs/skiff/base), read into one checked shape.
import { z } from 'zod';
import { SLOTS } from '../images/boot-slots.ts';
import { SkiffError } from '../lib/errors.ts';

/** The device's script, present on every image built since `skiff push` exists. */
export const SLOT_INFO_SCRIPT = '/opt/skiff/scripts/slot-info.sh';

const Slot = z.enum(SLOTS);
const Kib = z.coerce.number().int().nonnegative();

const DeviceInfoSchema = z.object({
  version: z.string(),
  arch: z.string(),
  family: z.string(),
  config: z.string(),
  boot_id: z.string().min(1),
  ready: z.enum(['yes', 'no']),
  /** The slot the running system booted from, `none` on a card without slots. */
  slot: z.union([Slot, z.literal('none')]),
  /** The boot partition's device, or `unmounted` when it could not be mounted; absent before ready. */
  boot: z.string().optional(),
  good: Slot.optional(),
  trial: z.union([Slot, z.literal('none')]).optional(),
  tries: z.coerce.number().int().optional(),
  free_kib: Kib.optional(),
  slot_a_kib: Kib.optional(),
  slot_b_kib: Kib.optional(),
  /** sha256 of the running slot's initramfs: the manifest's record of it names the build. */
  image: z.string().optional(),
});

export type DeviceInfo = z.infer<typeof DeviceInfoSchema>;

export function parseDeviceInfo(text: string, device: string): DeviceInfo {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)=(.*)$/.exec(line.trim());
    if (m) fields[m[1]!] = m[2]!;
  }
  const parsed = DeviceInfoSchema.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SkiffError(`${device}'s ${SLOT_INFO_SCRIPT} said something unexpected (${issue.path.join('.')}: ${issue.message}):\n${text.trim()}`, 'is it a SkiffOS device built by this skiff? Write a current build to its card once');
  }
  return parsed.data;
}

/** One line for people: version, slot and image, e.g. `0.1.0, slot a, image 3f2a9c01d4e5`. */
export function describeRunning(info: DeviceInfo): string {
  return [info.version || 'unknown version', info.slot === 'none' ? 'no boot slots' : `slot ${info.slot}`, info.image ? `image ${info.image.slice(0, 12)}` : ''].filter(Boolean).join(', ');
}
