# Sourced by test.sh and demo.sh: makes sure $VENV exists (created with $PYTHON) and
# holds this checkout, built and installed, with the extras named in $1 (if any).
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet ".${1:+[$1]}"
