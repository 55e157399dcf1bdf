#!/usr/bin/env bash
# Sets up a virtualenv (if needed), builds and installs fastautoreload with its test
# dependencies, then runs the Rust unit tests and the end-to-end pytest suite.
#   VENV    where the virtualenv lives (default: .venv)
#   PYTHON  interpreter to create it with (default: python3)
#   extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh test

echo "== cargo test (pure-Rust core)"
cargo test --quiet

venv_python="$(cd "$VENV" && pwd)/bin/python"
echo "== mypy.stubtest (the hand-written _native.pyi matches the built module)"
# Run from tests/ (as pytest is) so that the installed package is checked, not the source tree.
(cd tests && "$venv_python" -m mypy.stubtest fastautoreload._native \
    --allowlist stubtest-allowlist.txt)

echo "== pytest (end to end, $("$VENV/bin/python" -c 'import sys, IPython; print(f"Python {sys.version.split()[0]}, IPython {IPython.__version__}")'))"
# Run from tests/ so that the installed package is imported, not the source tree.
cd tests && "$venv_python" -m pytest -q -p no:cacheprovider "$@"
