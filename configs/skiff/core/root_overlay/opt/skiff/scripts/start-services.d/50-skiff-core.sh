# Skiff Core: the mapped users' accounts now (quick; mistakes in config.yaml are reported on the
# console), images and containers in the background, so the boot never waits for an import.
/usr/bin/skiff-core users
/usr/bin/skiff-core start > /dev/null 2>&1 &
