#!/usr/bin/env bash
# Re-pin every package `make test`, `make demo` and `make docs` install.
#
# Run it on purpose (`make lock`) when you want newer tools: it builds a
# throwaway venv from pyproject.toml's ranges alone, with the newest releases
# that satisfy them, and writes what got installed to requirements/constraints.txt.
# Commit that file with the change that needed it; review its diff like code.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --upgrade pip
"$tmp/venv/bin/python" -m pip install --quiet -e '.[dev,docs]'
{
  echo "# Pins for make test / make demo / make docs. Regenerate with: make lock"
  echo "# (scripts/lock.sh). Python $("$tmp/venv/bin/python" -c 'import platform; print(platform.python_version())')."
  "$tmp/venv/bin/python" -m pip freeze --all --exclude-editable | grep -v '^convguard' | LC_ALL=C sort -f
} > requirements/constraints.txt
echo "wrote requirements/constraints.txt ($(grep -vc '^#' requirements/constraints.txt) pins)"
