// Two image slots on a U-Boot board's boot partition, and the small state file that says which one
// boots (docs/deploy.md has the facts behind the choice): the contract between the build (which
// writes slot a and boot.scr, buildroot/debian/boot-slots.ts), the device's scripts (which confirm
// a slot and install into the other) and `skiff push` (deploy/). boot.scr reads the file with `env
// import`, counts a trial slot's tries down with `fatwrite` before booting it, and boots the good
// slot once a trial has no tries left; the booted system confirms a trial by rewriting the file.
import { SkiffError } from '../lib/errors.ts';

export const SLOTS = ['a', 'b'] as const;
export type Slot = (typeof SLOTS)[number];

/** The state file at the top of the boot partition. */
export const SLOT_STATE_FILE = 'skiff-slot.txt';

/** A slot's folder on the boot partition: its kernel, initramfs.cpio.zst and dtbs/. */
export const slotDir = (slot: Slot) => `slot-${slot}`;

/** At most 9: U-Boot's setexpr counts in hex, and one digit keeps `itest` and the file plain. */
export const MAX_TRIES = 9;

export interface SlotState {
  /** The slot that booted to SKIFF_READY and was confirmed. */
  good: Slot;
  /** A slot to boot instead, while it has tries left. */
  trial?: Slot;
  /** Boots the trial slot still gets. */
  tries: number;
}

/** The card as built: slot a, nothing to try. */
export const FIRST_STATE: SlotState = { good: 'a', tries: 0 };

const isSlot = (s: string | undefined): s is Slot => SLOTS.includes(s as Slot);

/** The file's text: `env import -t` lines, the variables boot.scr uses. */
export function slotStateText(state: SlotState): string {
  if (!isSlot(state.good)) throw new SkiffError(`the good slot "${state.good}" is not a slot`, `use one of ${SLOTS.join(', ')}`);
  if (state.trial !== undefined && !isSlot(state.trial)) throw new SkiffError(`the trial slot "${state.trial}" is not a slot`, `use one of ${SLOTS.join(', ')}`);
  if (state.trial === state.good) throw new SkiffError(`slot ${state.good} is both the good slot and the one to try`, 'try the other slot');
  if (!Number.isInteger(state.tries) || state.tries < 0 || state.tries > MAX_TRIES) {
    throw new SkiffError(`${state.tries} tries is not a whole number from 0 to ${MAX_TRIES}`, `give a slot 1 to ${MAX_TRIES} tries (U-Boot's setexpr counts in hex)`);
  }
  if (state.trial && state.tries === 0) throw new SkiffError(`slot ${state.trial} is to be tried 0 times`, `give it 1 to ${MAX_TRIES} tries, or name no trial slot`);
  return `skiff_good=${state.good}\nskiff_trial=${state.trial ?? 'none'}\nskiff_tries=${state.trial ? state.tries : 0}\n`;
}

/**
 * Reads the file as U-Boot does: `name=value` lines; U-Boot's `env export` ends it with a NUL.
 * A trial with no tries left is reported as no trial: the next boot is the good slot.
 */
export function parseSlotState(text: string, where = SLOT_STATE_FILE): SlotState {
  const vars = new Map<string, string>();
  for (const line of text.replace(/\0+$/, '').split('\n')) {
    if (!line.trim()) continue;
    const m = /^(skiff_good|skiff_trial|skiff_tries)=(.*)$/.exec(line);
    if (!m) throw new SkiffError(`${where}: "${line}" is not a skiff_good, skiff_trial or skiff_tries line`, `rewrite it, e.g.:\n${slotStateText(FIRST_STATE)}`);
    vars.set(m[1]!, m[2]!);
  }
  const good = vars.get('skiff_good');
  if (!isSlot(good)) throw new SkiffError(`${where}: skiff_good=${good ?? ''} is not a slot`, `set skiff_good to one of ${SLOTS.join(', ')}`);
  const trial = vars.get('skiff_trial') ?? 'none';
  if (trial !== 'none' && !isSlot(trial)) throw new SkiffError(`${where}: skiff_trial=${trial} is not a slot`, `set skiff_trial to one of ${SLOTS.join(', ')}, or none`);
  const tries = Number(vars.get('skiff_tries') ?? '0');
  if (!/^\d$/.test(vars.get('skiff_tries') ?? '0')) throw new SkiffError(`${where}: skiff_tries=${vars.get('skiff_tries')} is not a digit`, `set it to 0 to ${MAX_TRIES}`);
  return trial !== 'none' && trial !== good && tries > 0 ? { good, trial, tries } : { good, tries: 0 };
}
