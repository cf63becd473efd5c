# SkiffOS habits kept: every target forwards to the skiff CLI, environment (SKIFF_CONFIG,
# SKIFF_WORKSPACE, ...) passed through unchanged.
SKIFF_DIR := $(dir $(realpath $(lastword $(MAKEFILE_LIST))))
SKIFF := node $(SKIFF_DIR)bin/skiff.js

.DEFAULT_GOAL := help
.PHONY: help configure compile layers resolve boards FORCE

help configure compile layers resolve boards: | $(SKIFF_DIR)node_modules
	@$(SKIFF) $@

cmd/%: FORCE | $(SKIFF_DIR)node_modules
	@$(SKIFF) cmd $*

br/%: FORCE | $(SKIFF_DIR)node_modules
	@$(SKIFF) br $*

$(SKIFF_DIR)node_modules:
	@echo "skiff: node_modules is missing in $(SKIFF_DIR): run npm install first" >&2; exit 1

FORCE:
