# Sourced by scripts/test.sh and scripts/demo.sh: make .venv with oca-sync installed.
# Works on a fresh Debian 12 (Python 3.11): installs python3-venv with apt-get when needed.
# Quiet unless something fails (then the whole install log is shown); nothing is reinstalled
# when pyproject.toml and the extras asked for are the same as at the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PYTHON="${PYTHON:-python3}"
extras="${1:-}"

apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# Run a command with its output in a log; show the log only when it fails.
quietly() {
    local log
    log="$(mktemp)"
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        echo "Installing python3-venv (Debian) …" >&2
        apt_install python3-venv python3-pip
        "$PYTHON" -m venv .venv
    fi
fi
# What was installed: the packaging file and the extras. Code changes need no reinstall (editable install);
# an install with the test extras also serves the demo.
stamp=".venv/.oca-sync-installed"
digest="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have_digest="" have_extras=""
if [ -f "$stamp" ]; then read -r have_digest have_extras < "$stamp" || true; fi
if [ "$have_digest" != "$digest" ] || { [ -n "$extras" ] && [ "$have_extras" != "$extras" ]; }; then
    echo "Installing oca-sync${extras} into .venv …" >&2
    quietly .venv/bin/python -m pip install --upgrade pip
    quietly .venv/bin/python -m pip install -e ".${extras}"
    echo "$digest ${extras:-${have_extras:-}}" > "$stamp"
fi
