#!/bin/sh
# install-slot.sh DIR [TRIES]: writes the image in DIR (the kernel, initramfs.cpio.zst, dtbs/ and
# SHA256SUMS, as `skiff push` sends them) into the boot slot that is not the good one, checks
# every file against SHA256SUMS as read back from the card, and only then names that slot as the
# one the next boots try, TRIES times (default 3, at most 9) before boot.scr falls back by itself
# (docs/deploy.md). Persist is not touched. Exits non-zero, having said why, on any failure; the
# good slot and what boots are then unchanged.
set -u
. /opt/skiff/scripts/boot-slots.sh

dir="${1:-}"
tries="${2:-3}"
fail() {
  echo "install-slot: $*" >&2
  exit 1
}
[ -n "$dir" ] && [ -f "$dir/SHA256SUMS" ] || fail "usage: install-slot.sh DIR [TRIES], DIR holding the image's files and SHA256SUMS"
case "$tries" in [1-9]) ;; *) fail "TRIES=$tries is not 1 to 9 (U-Boot's setexpr counts in hex)" ;; esac
(cd "$dir" && sha256sum -c -s SHA256SUMS) || fail "the files in $dir do not match their SHA256SUMS: send them again"

slot_mount || fail "cannot mount the boot partition"
trap 'cd /; umount "$SLOT_MNT" 2>/dev/null' EXIT
[ -f "$SLOT_STATE" ] || fail "$SLOT_DEVICE has no skiff-slot.txt: this card has one image slot (BOOT_SLOTS is not ab)"
good="$(slot_value skiff_good)"
case "$good" in a) target=b ;; b) target=a ;; *) fail "skiff-slot.txt names no good slot (skiff_good=$good)" ;; esac
# The slot written is the one that is not good: never the one this system runs from.
[ "$(slot_running)" != "$target" ] || fail "this system runs slot $target, which skiff-slot.txt does not name as good: installing would overwrite the running image; reboot onto slot $good first"
need=$(du -sk "$dir" | cut -f1)
room=$(( $(df -Pk "$SLOT_MNT" | awk 'NR==2 {print $4}') + $( [ -d "$SLOT_MNT/slot-$target" ] && du -sk "$SLOT_MNT/slot-$target" | cut -f1 || echo 0) ))
[ "$need" -lt "$room" ] || fail "slot $target needs ${need} KiB; the boot partition has room for ${room} KiB"

# Nothing tries the target slot while it is half written.
slot_write "$good" none 0 || fail "cannot write $SLOT_STATE"
rm -rf "$SLOT_MNT/slot-$target"
mkdir "$SLOT_MNT/slot-$target" && cp -r "$dir/." "$SLOT_MNT/slot-$target/" && sync || fail "writing slot $target failed"
# Read back from the card, not from the page cache.
echo 3 > /proc/sys/vm/drop_caches
(cd "$SLOT_MNT/slot-$target" && sha256sum -c -s SHA256SUMS) || fail "slot $target does not match SHA256SUMS after writing it: the card may be failing"
slot_write "$good" "$target" "$tries" || fail "cannot write $SLOT_STATE"
slot_log "boot slot $target written and verified; the next boot tries it ($tries tries, then slot $good again)"
echo "slot $target"
