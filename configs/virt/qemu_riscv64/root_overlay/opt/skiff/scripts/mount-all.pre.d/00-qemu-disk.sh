# The first virtio disk is the persist disk; `skiff cmd virt/qemu/run` creates it blank.
PERSIST_BLANK_DEVICE=/dev/vda
