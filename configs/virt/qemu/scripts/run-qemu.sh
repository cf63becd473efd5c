#!/bin/sh
# Boots images/out/<workspace>/ in QEMU: serial console on this terminal (Ctrl-A X quits),
# a persist disk kept next to the image, SSH forwarded from 127.0.0.1:${SKIFF_QEMU_SSH_PORT:-2222}.
set -eu
dir="${SKIFF_IMAGES_DIR:?run this through skiff cmd virt/qemu/run}"
[ -f "$dir/bzImage" ] || { echo "no image in $dir: run skiff compile first" >&2; exit 1; }
disk="${SKIFF_QEMU_DISK:-$dir/persist.img}"
[ -f "$disk" ] || truncate -s "${SKIFF_QEMU_DISK_SIZE:-2G}" "$disk"
# Skiff Core: the core image built with the host image, attached read-only; the guest imports it.
for core in "$dir"/core/*.squashfs; do
  [ -f "$core" ] && set -- -drive "file=$core,if=none,id=core,format=raw,readonly=on" -device virtio-blk-pci,drive=core,serial=skiffcore
done
exec qemu-system-x86_64 -m "${SKIFF_QEMU_MEMORY:-512}" -nographic -no-reboot \
  -kernel "$dir/bzImage" -initrd "$dir/initramfs.cpio.zst" \
  -drive "file=$disk,if=virtio,format=raw" \
  -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:${SKIFF_QEMU_SSH_PORT:-2222}-:22" -device virtio-net-pci,netdev=net0 \
  -device virtio-rng-pci "$@"
