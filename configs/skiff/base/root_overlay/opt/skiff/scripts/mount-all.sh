#!/bin/sh
# Brings up the persist partition and the state kept on it. Only /mnt/persist survives a reboot:
# everything else is in RAM and rebuilt here from the image and from persist, every boot.
# busybox-static runs its own applets before PATH (a standalone shell), so programs from
# e2fsprogs and dropbear are called by their full paths.
set -u

log() {
  echo "skiff: $*" > /dev/console
  echo "$(cut -d' ' -f1 /proc/uptime) $*" >> /run/skiff-boot.log
}

# Defaults; a layer's mount-all.pre.d/*.sh may change them.
PERSIST_DEVICE="LABEL=persist"
# A whole disk we may format as persist when no device carries the label and the disk is blank.
PERSIST_BLANK_DEVICE=""
PERSIST_MNT=/mnt/persist
PERSIST_WAIT_SECONDS=10
PERSIST_MOUNT_OPTS="noatime"
BOOT_DEVICE="LABEL=boot"
ROOTFS_DEVICE="LABEL=rootfs"
SKIFF_SWAPFILE_SIZE_MB=0
for f in /opt/skiff/scripts/mount-all.pre.d/*.sh; do [ -f "$f" ] && . "$f"; done
[ -f /etc/skiff/swap.env ] && . /etc/skiff/swap.env
. /etc/skiff/release
# A container or WSL runs on its host's kernel: clock, kernel log and disks are the host's.
HOSTED=""
case "${SKIFF_BOOT_METHOD:-}" in container|wsl) HOSTED="$SKIFF_BOOT_METHOD" ;; esac

# A board without a battery-backed clock starts in 1970: move it to at least the build date.
if [ -z "$HOSTED" ] && [ "$(date +%s)" -lt "${SKIFF_BUILD_EPOCH:-0}" ]; then
  date -s "@${SKIFF_BUILD_EPOCH}" > /dev/null && log "clock set forward to the build date"
fi

# LABEL= is matched with e2label (e2fsprogs), so no util-linux is needed on the host.
find_persist() {
  case "$PERSIST_DEVICE" in
    LABEL=*)
      for b in /sys/class/block/*; do
        [ -b "/dev/${b##*/}" ] || continue
        if [ "$(/sbin/e2label "/dev/${b##*/}" 2>/dev/null)" = "${PERSIST_DEVICE#LABEL=}" ]; then
          echo "/dev/${b##*/}"
          return
        fi
      done ;;
    *) [ -b "$PERSIST_DEVICE" ] && echo "$PERSIST_DEVICE" ;;
  esac
}

# Blank means nothing but zeros where a partition table or a file system would start; anything
# else (even a damaged file system) is repaired, never formatted over.
is_blank() {
  [ "$(dd if="$1" bs=4096 count=32 2>/dev/null | tr -d '\000' | wc -c)" -eq 0 ]
}

dev=""
tries=$((PERSIST_WAIT_SECONDS * 10))
# No device to look for: persist is the folder the host gives (below).
[ -n "$HOSTED" ] && tries=0
while [ "$tries" -gt 0 ]; do
  dev="$(find_persist)"
  [ -n "$dev" ] && break
  [ -n "$PERSIST_BLANK_DEVICE" ] && [ -b "$PERSIST_BLANK_DEVICE" ] && break
  usleep 100000
  tries=$((tries - 1))
done

if [ -z "$dev" ] && [ -n "$PERSIST_BLANK_DEVICE" ] && [ -b "$PERSIST_BLANK_DEVICE" ]; then
  if is_blank "$PERSIST_BLANK_DEVICE"; then
    log "persist: $PERSIST_BLANK_DEVICE is blank, creating an ext4 file system labelled persist"
    /sbin/mke2fs -q -F -t ext4 -L persist -E lazy_itable_init=1 "$PERSIST_BLANK_DEVICE" || log "persist: mke2fs failed"
  else
    log "persist: $PERSIST_BLANK_DEVICE has data but no persist label: checking it, not formatting it"
  fi
  dev="$PERSIST_BLANK_DEVICE"
fi

if [ "$HOSTED" = wsl ]; then
  # WSL keeps the distribution's whole root file system on its own virtual disk.
  mkdir -p "$PERSIST_MNT"
  log "persist: $PERSIST_MNT is a folder on this WSL distribution's own disk, kept across restarts"
elif [ -n "$HOSTED" ]; then
  mkdir -p "$PERSIST_MNT"
  if grep -q "^[^ ]* $PERSIST_MNT " /proc/mounts; then
    log "persist: $PERSIST_MNT is a volume the container runtime mounted"
  else
    log "persist: no volume at $PERSIST_MNT, so state goes with this container (keep it with: docker run -v skiff-persist:$PERSIST_MNT ...)"
  fi
elif [ -z "$dev" ]; then
  log "persist: no device found ($PERSIST_DEVICE) after ${PERSIST_WAIT_SECONDS}s; state will not survive a reboot"
  mkdir -p "$PERSIST_MNT"
else
  # Replays the journal after a power cut and repairs what it can; -y when -p gives up.
  /sbin/e2fsck -p "$dev" > /run/skiff-fsck.log 2>&1
  rc=$?
  if [ "$rc" -ge 4 ]; then
    log "persist: e2fsck -p could not repair $dev (exit $rc); running e2fsck -y"
    /sbin/e2fsck -y "$dev" >> /run/skiff-fsck.log 2>&1
    rc=$?
  fi
  case "$rc" in
    0) ;;
    1|2|3) log "persist: file system errors on $dev were found and repaired (log: /run/skiff-fsck.log)" ;;
    *) log "persist: e2fsck could not repair $dev (exit $rc, log: /run/skiff-fsck.log)" ;;
  esac
  mkdir -p "$PERSIST_MNT"
  if mount -t ext4 -o "$PERSIST_MOUNT_OPTS" "$dev" "$PERSIST_MNT"; then
    # Grow to fill the device (a no-op when it already does).
    /sbin/resize2fs "$dev" > /dev/null 2>&1 || true
  else
    log "persist: mounting $dev failed; state will not survive a reboot"
  fi
fi

P="$PERSIST_MNT/skiff"
mkdir -p "$P/connections" "$P/core" "$P/etc" "$P/journal" "$P/keys" "$P/ssh"

if [ -s "$P/hostname" ]; then
  hostname -F "$P/hostname"
  hostname > /etc/hostname
else
  hostname > "$P/hostname"
fi

if [ ! -s "$P/machine-id" ]; then
  tr -d '-' < /proc/sys/kernel/random/uuid > "$P/machine-id"
fi
cp "$P/machine-id" /etc/machine-id

syslogd -O "$P/journal/messages"
# klogd reads (and so takes) the kernel's messages: on a host's kernel they are the host's.
[ -n "$HOSTED" ] || klogd

mkdir -p /etc/dropbear
for t in ed25519; do
  key="$P/ssh/dropbear_${t}_host_key"
  if [ ! -s "$key" ]; then
    /usr/bin/dropbearkey -t "$t" -f "$key" > /dev/null 2>&1 || log "ssh: generating the $t host key failed"
  fi
  ln -sf "$key" "/etc/dropbear/dropbear_${t}_host_key"
done

mkdir -p /root/.ssh
chmod 700 /root /root/.ssh
cat /etc/skiff/authorized_keys/*.pub "$P"/keys/*.pub > /root/.ssh/authorized_keys 2>/dev/null
chmod 600 /root/.ssh/authorized_keys

mkdir -p /etc/skiff/connections
cp -a "$P/connections/." /etc/skiff/connections/ 2>/dev/null
cp -a "$P/etc/." /etc/ 2>/dev/null

cat > /etc/skiff/env <<ENV
SKIFF_PERSIST=$PERSIST_MNT
SKIFF_PERSIST_DEVICE=${dev}
SKIFF_VERSION=$SKIFF_VERSION
SKIFF_CONFIG=$SKIFF_CONFIG
ENV

for f in /opt/skiff/scripts/mount-all.d/*.sh; do [ -f "$f" ] && . "$f"; done

if [ "${SKIFF_SWAPFILE_SIZE_MB}" -gt 0 ] && [ -n "$dev" ]; then
  swap="$P/swapfile"
  if [ ! -f "$swap" ]; then
    dd if=/dev/zero of="$swap" bs=1M count="$SKIFF_SWAPFILE_SIZE_MB" 2>/dev/null && chmod 600 "$swap" && mkswap "$swap" > /dev/null
  fi
  swapon "$swap" 2>/dev/null || log "swap: could not enable $swap"
fi
exit 0
