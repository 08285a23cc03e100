#!/usr/bin/env bash
# Install oca-sync into .venv and run the end-to-end demo on the built-in sandbox.
# Usage: scripts/demo.sh [demo options]
set -euo pipefail
source "$(dirname "$0")/setup-env.sh" ""
exec .venv/bin/oca-sync demo "$@"
