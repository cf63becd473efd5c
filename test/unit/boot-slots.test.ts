// Two image slots on a U-Boot card: the state file boot.scr and the device share, and the script's
// text. Fast; the script itself runs in U-Boot in test/integration/deploy.test.ts.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT, tempDir } from '../support/tree.ts';
import { refusal } from '../support/refusal.ts';
import { FIRST_STATE, parseSlotState, slotStateText } from '../../images/boot-slots.ts';
import { bootSlots, slotBootScript } from '../../buildroot/debian/boot-slots.ts';

describe('the slot state file', () => {
  it('is three env import lines, and reads back as written', () => {
    expect(slotStateText(FIRST_STATE)).toBe('skiff_good=a\nskiff_trial=none\nskiff_tries=0\n');
    const trying = { good: 'a', trial: 'b', tries: 3 } as const;
    expect(slotStateText(trying)).toBe('skiff_good=a\nskiff_trial=b\nskiff_tries=3\n');
    expect(parseSlotState(slotStateText(trying))).toEqual(trying);
  });

  it("reads what U-Boot's env export writes back: a NUL at the end, variables in any order", () => {
    expect(parseSlotState('skiff_good=b\nskiff_trial=a\nskiff_tries=1\n\0')).toEqual({ good: 'b', trial: 'a', tries: 1 });
    expect(parseSlotState('skiff_tries=2\nskiff_good=b\n\0')).toEqual({ good: 'b', tries: 0 });
  });

  it('reports a trial with no tries left, or naming the good slot, as no trial: the good slot boots', () => {
    expect(parseSlotState('skiff_good=a\nskiff_trial=b\nskiff_tries=0\n')).toEqual({ good: 'a', tries: 0 });
    expect(parseSlotState('skiff_good=a\nskiff_trial=a\nskiff_tries=2\n')).toEqual({ good: 'a', tries: 0 });
  });

  it('refuses what boot.scr could not use, naming the line', () => {
    expect(refusal(() => parseSlotState('skiff_good=c\n')).message).toBe('skiff-slot.txt: skiff_good=c is not a slot');
    expect(refusal(() => parseSlotState('bootcmd=reset\n')).message).toBe('skiff-slot.txt: "bootcmd=reset" is not a skiff_good, skiff_trial or skiff_tries line');
    expect(refusal(() => parseSlotState('skiff_good=a\nskiff_trial=b\nskiff_tries=10\n')).message).toBe('skiff-slot.txt: skiff_tries=10 is not a digit');
    expect(refusal(() => slotStateText({ good: 'a', trial: 'b', tries: 10 })).fix).toMatch(/setexpr counts in hex/);
    expect(refusal(() => slotStateText({ good: 'a', trial: 'a', tries: 1 })).message).toBe('slot a is both the good slot and the one to try');
    expect(refusal(() => slotStateText({ good: 'a', trial: 'b', tries: 0 })).message).toBe('slot b is to be tried 0 times');
  });
});

describe('the two-slot boot script', () => {
  const script = slotBootScript('zImage', 'sun8i-h2-plus-orangepi-zero.dtb', 'quiet', false, 'orangepi/zero');

  it('imports only its three variables from the state file', () => {
    expect(script).toContain('env import -t ${kernel_addr_r} ${filesize} skiff_good skiff_trial skiff_tries');
  });

  it('counts the try down on the card before loading the trial slot, and boots it only if that write worked', () => {
    const lines = script.split('\n').map((l) => l.trim());
    const count = lines.indexOf('setexpr skiff_tries ${skiff_tries} - 1');
    const write = lines.findIndex((l) => l.startsWith('if fatwrite ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} skiff-slot.txt ${filesize}'));
    const choose = lines.indexOf('setenv skiff_slot ${skiff_trial}');
    const loads = lines.findIndex((l) => l.startsWith('if run skiff_load'));
    expect(count).toBeGreaterThan(0);
    expect(write).toBeGreaterThan(count);
    expect(choose).toBe(write + 1);
    expect(loads).toBeGreaterThan(choose);
  });

  it("loads the chosen slot's kernel, device tree and initramfs (last, for ${filesize}), and tells the kernel the slot", () => {
    expect(script).toContain(
      "setenv skiff_load 'load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} slot-${skiff_slot}/zImage && load ${devtype} ${devnum}:${distro_bootpart} ${fdt_addr_r} slot-${skiff_slot}/dtbs/sun8i-h2-plus-orangepi-zero.dtb && load ${devtype} ${devnum}:${distro_bootpart} ${ramdisk_addr_r} slot-${skiff_slot}/initramfs.cpio.zst'",
    );
    expect(script).toContain('setenv bootargs "panic=10 skiff.slot=${skiff_slot} quiet"');
    expect(script).toMatch(/^bootz \$\{kernel_addr_r\} \$\{ramdisk_addr_r\}:\$\{filesize\} \$\{fdt_addr_r\}$/m);
    expect(slotBootScript('Image', 'x.dtb', '', true, 'c')).toMatch(/^setenv bootargs "panic=10 skiff\.slot=\$\{skiff_slot\}"\nbooti /m);
  });
});

describe('BOOT_SLOTS', () => {
  it('is ab or unset, and only for a U-Boot boot script', () => {
    expect(bootSlots({ BOOT_METHOD: 'uboot-script', BOOT_SLOTS: 'ab' }, 'x')).toBe(true);
    expect(bootSlots({ BOOT_METHOD: 'uboot-script' }, 'x')).toBe(false);
    expect(refusal(() => bootSlots({ BOOT_METHOD: 'uboot-script', BOOT_SLOTS: 'abc' }, 'x')).message).toBe('BOOT_SLOTS=abc is not a slot layout');
    expect(refusal(() => bootSlots({ BOOT_METHOD: 'uboot-extlinux', BOOT_SLOTS: 'ab' }, 'pine64/rock64')).message).toBe('pine64/rock64 sets BOOT_SLOTS=ab but boots with BOOT_METHOD=uboot-extlinux');
  });
});

describe("the device's side of the state file (configs/skiff/base/.../boot-slots.sh)", () => {
  const lib = path.join(PROJECT, 'configs/skiff/base/root_overlay/opt/skiff/scripts/boot-slots.sh');
  /** Runs `script` in sh with the library sourced and the boot partition's mount point a temp folder. */
  function device(script: string, mnt: string) {
    const r = spawnSync('sh', ['-c', `. "${lib}"; SLOT_MNT="${mnt}"; SLOT_STATE="$SLOT_MNT/skiff-slot.txt"; ${script}`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  }

  it('writes what boot.scr imports and parseSlotState reads, and reads what U-Boot writes back', () => {
    const mnt = tempDir('skiff-slots-');
    device('slot_write b a 3', mnt);
    const text = fs.readFileSync(path.join(mnt, 'skiff-slot.txt'), 'utf8');
    expect(text).toBe(slotStateText({ good: 'b', trial: 'a', tries: 3 }));
    expect(fs.existsSync(path.join(mnt, 'skiff-slot.new'))).toBe(false);
    // As U-Boot's env export leaves it: counted down, a NUL at the end.
    fs.writeFileSync(path.join(mnt, 'skiff-slot.txt'), 'skiff_good=b\nskiff_trial=a\nskiff_tries=2\n\0');
    expect(device('slot_value skiff_good; slot_value skiff_trial; slot_value skiff_tries', mnt)).toBe('b\na\n2\n');
    fs.rmSync(mnt, { recursive: true, force: true });
  });
});
