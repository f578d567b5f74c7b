#!/usr/bin/env bash
# The one command that sets up a fresh Debian machine and runs the whole test suite:
#   Debian packages (gnome-keyring, dbus, tmux, postgresql) when root and missing,
#   a venv at ${SEGPORT_TEST_VENV:-.venv} with `pip install -e ".[test]"`,
#   `ruff check src tests`, then `python -m pytest "$@"` (pytest's "no tests" exit 5 fails).
# Usage: tests/run.sh [pytest args...]      e.g. tests/run.sh tests/unit -q
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
if [[ ! -f "$ROOT/pyproject.toml" || ! -f "$ROOT/tests/run.sh" ]]; then
    echo "tests/run.sh: cannot find the repository root (got '$ROOT'); run the script by its path" >&2
    exit 1
fi
cd "$ROOT"

PACKAGES=(gnome-keyring dbus tmux postgresql)
PYTHON="${PYTHON:-python3}"
VENV="${SEGPORT_TEST_VENV:-.venv}"

say() { printf 'tests/run.sh: %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------------------------
missing=()
command -v gnome-keyring-daemon >/dev/null 2>&1 || missing+=(gnome-keyring-daemon)
command -v dbus-daemon >/dev/null 2>&1 || missing+=(dbus-daemon)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(initdb)
packages=("${PACKAGES[@]}")
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=("$PYTHON -m venv")
    packages+=(python3-venv)
fi

if ((${#missing[@]})); then
    if ((EUID != 0)); then
        say "missing: ${missing[*]}"
        say "install as root, then run this again:"
        say "  sudo apt-get install -y --no-install-recommends ${packages[*]}"
        exit 1
    fi
    say "missing: ${missing[*]}; installing ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

# --- the package and its test extras in a venv ------------------------------------------------
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    say "$PYTHON is $("$PYTHON" -V 2>&1); segport needs Python 3.11 or newer (set PYTHON=...)"
    exit 1
fi
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
    say "creating the venv $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
# Reinstall only when pyproject.toml changed (the install is editable: sources need none).
stamp="$VENV/.segport-test-install"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $ROOT"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]] \
    || ! "$VENV/bin/python" -c 'import segport, pytest, ruff' >/dev/null 2>&1; then
    say "installing segport with its test extras into $VENV"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --quiet -e ".[test]"
    echo "$want" >"$stamp"
fi

# --- lint, then the suite ----------------------------------------------------------------------
"$VENV/bin/python" -m ruff check src tests

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if [[ -t 1 ]]; then
    export PY_COLORS="${PY_COLORS:-1}" # keep colours on a terminal despite tee
fi
set +e
# Tests run in parallel workers (pytest-xdist), one per core up to 4: every session fixture
# (keyring, PostgreSQL, sandbox) uses its own temporary folder and ephemeral ports.
"$VENV/bin/python" -m pytest -n auto --maxprocesses 4 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

summary="$(sed -e 's/\x1b\[[0-9;]*m//g' "$log" \
    | grep -E '[0-9]+ (passed|failed|errors?|skipped|deselected)|no tests ran' | tail -n 1 \
    | sed -E 's/^=+ //; s/ =+$//')"
if ((status == 5)); then
    say "pytest collected no tests: failing"
    status=1
fi
say "pytest exit ${status}"
echo "${summary:-no pytest summary line}"
exit "$status"
