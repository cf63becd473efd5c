# The `format` and `install` commands of the board families' extensions/Makefile, which set
# FLASH_LAYER (pi/common, ...) and include this file. The selected layers' CARD_DEVICE_VARIABLE
# names the card (PI_SD, ORANGEPI_SD, ...); buildroot/debian/flash.ts checks it before writing.
# make -C moved us into extensions/: run from the caller's folder so a relative card path means theirs.
FLASH = cd "$(or $(PWD),.)" && node "$(SKIFF_PROJECT_DIR)/buildroot/debian/flash-main.js"

.PHONY: format install

format:
	@$(FLASH) format $(FLASH_LAYER)

install:
	@$(FLASH) install $(FLASH_LAYER)
