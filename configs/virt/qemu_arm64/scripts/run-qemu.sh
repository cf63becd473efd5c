#!/bin/sh
# Boots images/out/<workspace>/ in qemu-system-aarch64: serial console on this terminal (Ctrl-A X
# quits), a persist disk kept next to the image, SSH forwarded from 127.0.0.1:${SKIFF_QEMU_SSH_PORT:-2222}.
set -eu
dir="${SKIFF_IMAGES_DIR:?run this through skiff cmd virt/qemu_arm64/run}"
[ -f "$dir/Image" ] || { echo "no arm64 image in $dir: run skiff compile first" >&2; exit 1; }
disk="${SKIFF_QEMU_DISK:-$dir/persist.img}"
[ -f "$disk" ] || truncate -s "${SKIFF_QEMU_DISK_SIZE:-2G}" "$disk"
exec qemu-system-aarch64 -M virt -cpu cortex-a53 -m "${SKIFF_QEMU_MEMORY:-512}" -nographic -no-reboot \
  -kernel "$dir/Image" -initrd "$dir/initramfs.cpio.zst" \
  -drive "file=$disk,if=virtio,format=raw" \
  -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:${SKIFF_QEMU_SSH_PORT:-2222}-:22" -device virtio-net-pci,netdev=net0 \
  -device virtio-rng-pci
