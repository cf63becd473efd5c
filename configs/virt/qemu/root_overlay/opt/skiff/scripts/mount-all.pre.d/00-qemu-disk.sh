# The persist disk is the first virtio disk without a serial (`skiff cmd virt/qemu/run` creates it
# blank); the Skiff Core image disk next to it carries the serial "skiffcore".
for b in /sys/block/vd*; do
  [ -e "$b" ] || continue
  # (sysfs files always look non-empty to -s: read the serial.)
  [ -n "$(cat "$b/serial" 2>/dev/null)" ] && continue
  PERSIST_BLANK_DEVICE="/dev/${b##*/}"
  break
done
