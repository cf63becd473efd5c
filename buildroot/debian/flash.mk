# The `format` and `install` commands of the board families' extensions/Makefile, which set
# FLASH_FAMILY (pi, orangepi, ...) and include this file. buildroot/debian/flash.ts checks the card named by
# the family's variable (PI_SD, ORANGEPI_SD, ...) before writing anything.
# make -C moved us into extensions/: run from the caller's folder so a relative card path means theirs.
FLASH = cd "$(or $(PWD),.)" && node "$(SKIFF_PROJECT_DIR)/buildroot/debian/flash-main.js"

.PHONY: format install

format:
	@$(FLASH) format $(FLASH_FAMILY)

install:
	@$(FLASH) install $(FLASH_FAMILY)
