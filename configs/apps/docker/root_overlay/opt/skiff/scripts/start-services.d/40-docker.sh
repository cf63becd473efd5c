# Docker: its data root on persist, so images and containers survive reboots and host upgrades.
# cgroup v2 for runc; DOCKER_RAMDISK: the host's root is the initramfs, where pivot_root fails.
grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /mnt/persist/skiff/docker
DOCKER_RAMDISK=true dockerd --data-root /mnt/persist/skiff/docker --pidfile /run/dockerd.pid > /run/dockerd.log 2>&1 &
