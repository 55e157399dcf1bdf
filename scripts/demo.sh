#!/usr/bin/env bash
# Sets up a virtualenv (if needed) with fastautoreload installed, then runs the demo:
# a live IPython shell imports a module, the module is edited on disk, and the next
# cell sees the new code through references taken before the edit.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh ipython
"$VENV/bin/python" scripts/demo.py
