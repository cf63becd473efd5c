#!/bin/sh
# A container (`docker run ... /sbin/init`) or a WSL distribution (its wsl.conf boot command) starts
# rcS without our /init: the host gave /proc, /sys and /dev, and keeps the kernel, the clock and the
# devices to itself. What /init does that is still ours to do: busybox's applet links, a /run and a
# /tmp that start empty, and a console the user sees.
/bin/busybox --install -s
mounted() { grep -q "^[^ ]* $1 " /proc/mounts; }
for d in /run /tmp; do
  mounted "$d" && continue
  mode=0755; [ "$d" = /tmp ] && mode=1777
  # Without the right to mount (an unprivileged container), emptied instead: no pid file or
  # /run/skiff-ready of a previous start may stay behind.
  mount -t tmpfs -o "mode=$mode,nosuid,nodev" tmpfs "$d" 2>/dev/null || find "$d" -mindepth 1 -delete
done
# docker without -t gives no /dev/console: the console lines go to init's output (`docker logs`)
# through a pipe and a relay that inherited it (reopening /proc/1/fd/1 fails when that is a socket).
if [ ! -e /dev/console ]; then
  mkfifo -m 600 /dev/console
  (while :; do cat /dev/console; done) < /dev/null &
fi
exit 0
