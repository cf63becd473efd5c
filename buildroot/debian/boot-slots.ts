// Two image slots on a U-Boot board's boot partition, and the small state file that says which one
// boots (docs/deploy.md has the facts behind the choice). boot.scr reads the file with `env import`,
// counts a trial slot's tries down with `fatwrite` before booting it, and boots the good slot once
// a trial has no tries left; the booted system confirms a trial by rewriting the file.
import { SkiffError } from '../../lib/errors.ts';

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

/**
 * boot.cmd for a card with two slots. Run by U-Boot's distro boot with devtype, devnum and
 * distro_bootpart set. The state file is read to kernel_addr_r (scriptaddr holds this script),
 * before the kernel is loaded there.
 */
export function slotBootScript(kernel: string, dtb: string, cmdline: string, arm64: boolean, chain: string): string {
  const part = '${devtype} ${devnum}:${distro_bootpart}';
  const load = (addr: string, file: string) => `load ${part} \${${addr}} slot-\${skiff_slot}/${file}`;
  return [
    `# SkiffOS boot script for ${chain}, written by skiff compile; boot.scr is this file wrapped by mkimage.`,
    `# Boots slot-a/ or slot-b/ as ${SLOT_STATE_FILE} says (docs/deploy.md).`,
    'setenv skiff_good a',
    'setenv skiff_trial none',
    'setenv skiff_tries 0',
    // Only these three: the file cannot change anything else of the environment.
    `if load ${part} \${kernel_addr_r} ${SLOT_STATE_FILE}; then env import -t \${kernel_addr_r} \${filesize} skiff_good skiff_trial skiff_tries; fi`,
    'if test "${skiff_good}" != b; then setenv skiff_good a; fi',
    'setenv skiff_slot ${skiff_good}',
    'if test "${skiff_trial}" = a -o "${skiff_trial}" = b; then',
    '  if test "${skiff_trial}" != "${skiff_good}"; then',
    '    if itest ${skiff_tries} -gt 0; then',
    // Counted down on the card before the slot is loaded: a trial that hangs or panics has used its try.
    '      setexpr skiff_tries ${skiff_tries} - 1',
    '      env export -t ${kernel_addr_r} skiff_good skiff_trial skiff_tries',
    `      if fatwrite ${part} \${kernel_addr_r} ${SLOT_STATE_FILE} \${filesize}; then`,
    '        setenv skiff_slot ${skiff_trial}',
    '        echo "skiff: trying slot ${skiff_trial}, ${skiff_tries} more tries after this one"',
    '      else',
    // A counter that cannot count down would retry a broken slot forever.
    '        echo "skiff: cannot write the try count; booting slot ${skiff_good}"',
    '      fi',
    '    else',
    '      echo "skiff: slot ${skiff_trial} used its tries without confirming; booting slot ${skiff_good}"',
    '    fi',
    '  fi',
    'fi',
    // The initramfs last, so that ${filesize} is its size: boot[zi] takes a raw initramfs as addr:size.
    `setenv skiff_load '${load('kernel_addr_r', kernel)} && ${load('fdt_addr_r', `dtbs/${dtb}`)} && ${load('ramdisk_addr_r', 'initramfs.cpio.zst')}'`,
    'if run skiff_load; then true; else',
    '  if test "${skiff_slot}" = a; then setenv skiff_slot b; else setenv skiff_slot a; fi',
    '  echo "skiff: that slot is incomplete; booting slot ${skiff_slot}"',
    '  run skiff_load',
    'fi',
    // panic=10 first, so a layer's own panic= wins: a panicking trial restarts, and its tries run out.
    `setenv bootargs "panic=10 skiff.slot=\${skiff_slot}${cmdline ? ` ${cmdline}` : ''}"`,
    `${arm64 ? 'booti' : 'bootz'} \${kernel_addr_r} \${ramdisk_addr_r}:\${filesize} \${fdt_addr_r}`,
    '',
  ].join('\n');
}

/** Reads BOOT_SLOTS: `ab` gives a U-Boot script board two slots; unset, one set of boot files. */
export function bootSlots(settings: Record<string, string>, chain: string): boolean {
  const v = settings.BOOT_SLOTS;
  if (v === undefined || v === '') return false;
  if (v !== 'ab') throw new SkiffError(`BOOT_SLOTS=${v} is not a slot layout`, 'set BOOT_SLOTS=ab (two slots, a and b) or leave it unset');
  if (settings.BOOT_METHOD !== 'uboot-script') {
    throw new SkiffError(`${chain} sets BOOT_SLOTS=ab but boots with BOOT_METHOD=${settings.BOOT_METHOD ?? '(unset)'}`, 'two slots need a U-Boot boot script (BOOT_METHOD=uboot-script): remove BOOT_SLOTS');
  }
  return true;
}
