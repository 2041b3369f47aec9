#!/bin/sh
# Makes python/.venv (if missing) with what requirements-dev.txt lists, then builds the
# go_micro extension into it (debug profile, honouring CARGO_TARGET_DIR). Safe to re-run.
set -eu
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop -q
