#!/usr/bin/env bash
# Install everything the tests need (into .venv, plus Debian packages) and run the whole suite.
# Usage: scripts/test.sh [pytest args]
set -euo pipefail
source "$(dirname "$0")/setup-env.sh" "[test]"
if ! command -v php >/dev/null 2>&1; then
    echo "Installing php-cli (Debian) to lint the companion plugin …" >&2
    apt_install php-cli || echo "php-cli could not be installed; PHP lint tests will fail" >&2
fi
if ! command -v chromium >/dev/null 2>&1; then
    echo "Installing chromium (Debian) to read the report in a real browser …" >&2
    apt_install chromium || echo "chromium could not be installed; the report's browser tests will fail" >&2
fi
exec .venv/bin/python -m pytest "$@"
