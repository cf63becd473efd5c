# Fast boot: the playground saves the machine state here, before persist is mounted, so a
# restored state never holds an old view of persist. The host answers with a newline on the
# console when it is done (at once when it is not saving); without an answer we go on after 5 s.
echo "SKIFF_PERSIST_WAIT" > /dev/console
read -r -t 5 _ < /dev/console
# After a restore the disk may hold newer data than the kernel cached before the snapshot.
blockdev --flushbufs /dev/sda 2>/dev/null
