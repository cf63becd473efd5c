# Sourced by confirm-slot.sh and install-slot.sh: the two boot slots of a card with BOOT_SLOTS=ab
# (docs/deploy.md). skiff-slot.txt's format is images/boot-slots.ts's; boot.scr reads it.

slot_log() {
  echo "skiff: $*" > /dev/console
  echo "$(cut -d' ' -f1 /proc/uptime) $*" >> /run/skiff-boot.log
}

# The slot this system booted from (skiff.slot= on the kernel's command line), or nothing.
slot_running() {
  for w in $(cat /proc/cmdline); do
    case "$w" in skiff.slot=*) echo "${w#skiff.slot=}" ;; esac
  done
}

SLOT_MNT=/run/skiff-boot
SLOT_STATE="$SLOT_MNT/skiff-slot.txt"

# Mounts the boot partition at $SLOT_MNT (read-only with `slot_mount ro`): the first partition of
# the disk persist is on (mmcblk0p2 -> mmcblk0p1). Returns non-zero, having said why, when it cannot.
slot_mount() {
  . /etc/skiff/env
  if [ -z "${SKIFF_PERSIST_DEVICE:-}" ]; then
    slot_log "boot slots: no persist device, so no boot partition known"
    return 1
  fi
  SLOT_DEVICE="$(echo "$SKIFF_PERSIST_DEVICE" | sed 's/[0-9]*$/1/')"
  mkdir -p "$SLOT_MNT"
  mount -t vfat -o "noatime,${1:-rw}" "$SLOT_DEVICE" "$SLOT_MNT" || {
    slot_log "boot slots: cannot mount the boot partition $SLOT_DEVICE"
    return 1
  }
}

slot_umount() {
  umount "$SLOT_MNT"
}

# A variable of skiff-slot.txt; U-Boot's env export ends the file with a NUL.
slot_value() {
  tr -d '\000' < "$SLOT_STATE" 2>/dev/null | sed -n "s/^$1=//p"
}

# Writes skiff-slot.txt: good slot, trial slot (or none), tries. Beside the old file, then
# renamed over it, each step synced: a power cut leaves one whole file or the other.
slot_write() {
  printf 'skiff_good=%s\nskiff_trial=%s\nskiff_tries=%s\n' "$1" "$2" "$3" > "$SLOT_MNT/skiff-slot.new" &&
    sync && mv "$SLOT_MNT/skiff-slot.new" "$SLOT_STATE" && sync
}
