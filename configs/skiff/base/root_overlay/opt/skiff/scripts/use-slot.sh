#!/bin/sh
# use-slot.sh a|b: makes that boot slot the good one from the next boot on, by hand (docs/deploy.md):
# back to the previous image after an upgrade that boots but misbehaves, say. The slot's files are
# checked against its SHA256SUMS first when it has one (a pushed slot does; slot a as built does
# not); any slot still to try is dropped. Persist is not touched.
set -u
. /opt/skiff/scripts/boot-slots.sh

slot="${1:-}"
fail() {
  echo "use-slot: $*" >&2
  exit 1
}
case "$slot" in a | b) ;; *) fail "usage: use-slot.sh a|b (the slot to boot from now on)" ;; esac
slot_mount || fail "cannot mount the boot partition"
trap 'cd /; umount "$SLOT_MNT" 2>/dev/null' EXIT
[ -f "$SLOT_STATE" ] || fail "$SLOT_DEVICE has no skiff-slot.txt: this card has one image slot (BOOT_SLOTS is not ab)"
dir="$SLOT_MNT/slot-$slot"
[ -d "$dir" ] || fail "slot $slot is empty: nothing to boot there"
if [ -f "$dir/SHA256SUMS" ]; then
  (cd "$dir" && sha256sum -c -s SHA256SUMS) || fail "slot $slot does not match its SHA256SUMS: it would not boot as written; push an image into it instead"
fi
slot_write "$slot" none 0 || fail "cannot write $SLOT_STATE"
slot_log "boot slot $slot made the good slot by hand; it boots from the next boot on"
echo "slot $slot"
