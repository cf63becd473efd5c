// The build's half of two image slots (images/boot-slots.ts holds the state file's contract):
// reading BOOT_SLOTS, and the boot script that picks a slot.
import { SkiffError } from '../../lib/errors.ts';
import { SLOT_STATE_FILE } from '../../images/boot-slots.ts';

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
