# v86's first IDE disk is the persist disk: the playground hands it over blank on a first visit.
PERSIST_BLANK_DEVICE=/dev/sda
