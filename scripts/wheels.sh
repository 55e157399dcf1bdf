#!/usr/bin/env bash
# Builds release wheels into dist/ for every CPython 3.10-3.13 that pyenv has, plus an
# sdist, and checks each wheel with auditwheel.
#
# Linux wheels are manylinux2014 (glibc 2.17+): zig (the `ziglang` package from PyPI)
# links them against glibc 2.17's symbols, whatever glibc this machine has. They are
# per Python version: the core patches functions through C-API calls outside the
# limited API (PyFunction_SetClosure, PyDict_Next on live dicts), so abi3 is not an
# option. The .so is stripped (`strip = true` in Cargo.toml's release profile).
#   TOOLS_VENV  where maturin, ziglang and auditwheel are installed (default: .venv-wheels)
#   DIST        output directory (default: dist)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS_VENV=${TOOLS_VENV:-.venv-wheels}
DIST=${DIST:-dist}

if [ ! -x "$TOOLS_VENV/bin/python" ]; then
    python3 -m venv "$TOOLS_VENV"
fi
"$TOOLS_VENV/bin/python" -m pip install --quiet --upgrade pip
# maturin's --zig is tested against the zig releases of its time: pin a known pair.
"$TOOLS_VENV/bin/python" -m pip install --quiet "maturin>=1.9,<2" "ziglang==0.14.1" "auditwheel>=6"

interpreters=()
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for version in 3.10 3.11 3.12 3.13; do
    python=$(ls -d "$root"/versions/"$version".*/bin/python 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$python" ]; then
        interpreters+=("$python")
    else
        echo "== Python $version: not found in pyenv, no wheel for it"
    fi
done
if [ ${#interpreters[@]} -eq 0 ]; then
    echo "no CPython 3.10-3.13 found in pyenv" >&2
    exit 1
fi

mkdir -p "$DIST"
rm -f "$DIST"/fastautoreload-*
maturin="$TOOLS_VENV/bin/maturin"
compat=()
if [ "$(uname -s)" = Linux ]; then
    compat=(--zig --compatibility manylinux2014)
fi
# One call builds every interpreter's wheel and shares the compiled dependencies.
PATH="$(cd "$TOOLS_VENV/bin" && pwd):$PATH" \
    "$maturin" build --release --strip --out "$DIST" "${compat[@]}" \
    $(printf -- '--interpreter %s ' "${interpreters[@]}")
"$maturin" sdist --out "$DIST"

if [ "$(uname -s)" = Linux ]; then
    for wheel in "$DIST"/*.whl; do
        report=$("$TOOLS_VENV/bin/auditwheel" show "$wheel")
        if ! grep -q 'manylinux_2_17\|manylinux2014' <<<"$report"; then
            echo "$report" >&2
            echo "$wheel is not manylinux2014-compatible" >&2
            exit 1
        fi
    done
fi
echo "== built:"
ls -l "$DIST"
