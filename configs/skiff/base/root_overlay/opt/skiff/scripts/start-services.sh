#!/bin/sh
# Networking (DHCP on every ethernet interface) and the SSH server (public keys only).
ip link set lo up
. /etc/skiff/release
# In a container or WSL the host set up the network: a DHCP client would take eth0's address away.
case "${SKIFF_BOOT_METHOD:-}" in container|wsl) set -- ;; *) set -- /sys/class/net/eth* ;; esac
for iface in "$@"; do
  [ -e "$iface" ] || continue
  name="${iface##*/}"
  ip link set "$name" up
  # In the background from the start: waiting for a lease must not hold up the boot.
  udhcpc -f -S -i "$name" -s /usr/share/udhcpc/default.script -p "/run/udhcpc.$name.pid" > /dev/null 2>&1 &
done
# -s: no password logins at all, -g: none for root either; keys from /root/.ssh/authorized_keys.
/usr/sbin/dropbear -s -g -P /run/dropbear.pid -r /etc/dropbear/dropbear_ed25519_host_key
# Services of other layers (e.g. skiff/core), in name order.
for f in /opt/skiff/scripts/start-services.d/*.sh; do [ -f "$f" ] && . "$f"; done
