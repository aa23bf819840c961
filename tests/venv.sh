#!/usr/bin/env bash
# Makes sure the virtualenv VENV holds exactly the pinned REQUIREMENTS:
# creates it, or creates it again when the requirements file changed.
#
#   tests/venv.sh VENV REQUIREMENTS
set -euo pipefail
venv="$1"
req="$2"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$req" "$venv/requirements.txt"; then
    echo "tests: creating $venv from $req" >&2
    python3 -m venv --clear "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$venv/requirements.txt"
fi
