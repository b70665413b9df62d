#!/usr/bin/env bash
# The layer rules of driver/ (docs/architecture.md): wrong-way includes, include cycles,
# exit codes outside cli/, third-party headers outside their modules. Run by ci/test.sh.
exec python3 "$(dirname "$0")/check_layers.py" "$@"
