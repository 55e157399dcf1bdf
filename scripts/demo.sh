#!/usr/bin/env bash
# Sets up a virtualenv (if needed) with fastautoreload installed, then runs the demo:
# a live IPython shell imports a module, the module is edited on disk, and the next
# cell sees the new code through references taken before the edit.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet .
"$VENV/bin/python" scripts/demo.py
