#!/bin/sh
# Confirms the boot slot this system runs from, once it has reached SKIFF_READY (docs/deploy.md).
# A card with two slots passes skiff.slot=<a|b> to the kernel, and its boot.scr counted this boot
# as one try of a trial slot in skiff-slot.txt; making this slot the good one stops the fallback.
# Without skiff.slot= there is nothing to do.
set -u
. /opt/skiff/scripts/boot-slots.sh
. /etc/skiff/release
# A container's /proc/cmdline is its host's: a skiff.slot= there is the host's slot, not ours.
case "${SKIFF_BOOT_METHOD:-}" in container|wsl) exit 0 ;; esac

slot="$(slot_running)"
[ -n "$slot" ] || exit 0
slot_mount || { slot_log "boot slot $slot not confirmed"; exit 0; }
good="$(slot_value skiff_good)"
if [ "$(slot_value skiff_trial)" = "$slot" ]; then
  if slot_write "$slot" none 0; then
    slot_log "boot slot $slot confirmed: it is the good slot now (was $good)"
  else
    slot_log "boot slot $slot: writing $SLOT_STATE failed; not confirmed"
  fi
elif [ "$good" != "$slot" ]; then
  slot_log "boot slot $slot runs, but $SLOT_STATE names $good as the good slot (its files could not be loaded?)"
fi
slot_umount
exit 0
