# SkiffOS habits kept: `make <command>` runs `skiff <command>` with the environment (SKIFF_CONFIG,
# SKIFF_WORKSPACE, ...) passed through unchanged. The CLI holds the one list of commands, so every
# goal is forwarded and an unknown one gets its "did you mean".
SKIFF_DIR := $(dir $(realpath $(lastword $(MAKEFILE_LIST))))
SKIFF := node $(SKIFF_DIR)bin/skiff.js
# A command's options: `make test ARGS="--target v86"`. Only from make's command line, so an ARGS
# exported for something else never reaches skiff.
SKIFF_ARGS := $(if $(filter command line,$(origin ARGS)),$(ARGS))

.DEFAULT_GOAL := help

cmd/%: FORCE | $(SKIFF_DIR)node_modules
	@$(SKIFF) cmd $* $(SKIFF_ARGS)

br/%: FORCE | $(SKIFF_DIR)node_modules
	@$(SKIFF) br $*

%: FORCE | $(SKIFF_DIR)node_modules
	@$(SKIFF) $@ $(SKIFF_ARGS)

# Not commands: without these rules make would try to remake them through the rule above.
$(MAKEFILE_LIST): ;

$(SKIFF_DIR)node_modules:
	@echo "skiff: node_modules is missing in $(SKIFF_DIR): run npm install first" >&2; exit 1

FORCE: ;
