#!/bin/sh
# What `skiff push` checks before it writes anything, as name=value lines (deploy/device-info.ts
# reads them): the running image (release, slot, its initramfs's sha256), the card's slot state,
# and the room an install into the other slot has. Mounts the boot partition read-only, and only
# once the boot is over (rcS writes /run/skiff-ready after confirm-slot.sh has used it).
set -u
. /opt/skiff/scripts/boot-slots.sh
. /etc/skiff/release

echo "version=${SKIFF_VERSION:-}"
echo "arch=${SKIFF_ARCH:-}"
echo "family=${SKIFF_FAMILY:-}"
echo "config=${SKIFF_CONFIG:-}"
echo "boot_id=$(cat /proc/sys/kernel/random/boot_id)"
slot="$(slot_running)"
echo "slot=${slot:-none}"
[ -f /run/skiff-ready ] || { echo "ready=no"; exit 0; }
echo "ready=yes"
slot_mount ro > /dev/null 2>&1 || { echo "boot=unmounted"; exit 0; }
trap 'cd /; umount "$SLOT_MNT" 2>/dev/null' EXIT
echo "boot=$SLOT_DEVICE"
if [ -f "$SLOT_STATE" ]; then
  echo "good=$(slot_value skiff_good)"
  echo "trial=$(slot_value skiff_trial)"
  echo "tries=$(slot_value skiff_tries)"
fi
echo "free_kib=$(df -Pk "$SLOT_MNT" | awk 'NR==2 {print $4}')"
for s in a b; do
  [ -d "$SLOT_MNT/slot-$s" ] && echo "slot_${s}_kib=$(du -sk "$SLOT_MNT/slot-$s" | cut -f1)"
done
if [ -n "$slot" ] && [ -f "$SLOT_MNT/slot-$slot/initramfs.cpio.zst" ]; then
  echo "image=$(sha256sum "$SLOT_MNT/slot-$slot/initramfs.cpio.zst" | cut -d' ' -f1)"
fi
