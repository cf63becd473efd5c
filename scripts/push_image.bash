#!/usr/bin/env bash
# Upstream's name for pushing a build to a running device: `scripts/push_image.bash root@host`.
# Here it is `skiff push` (its --help has the options), which writes the other boot slot.
exec node "$(dirname "$(readlink -f "$0")")/../bin/skiff.js" push "$@"
