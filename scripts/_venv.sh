# Sourced by the scripts in scripts/ (test, test-floor, demo, bench):
#   source scripts/_venv.sh EXTRAS [FOLDER]
# a project virtualenv in FOLDER (default .venv) with Python >= 3.10, set up on first
# use; with EXTRAS (non-empty), ollama-provider[EXTRAS] installed into it, refreshed
# when pyproject.toml changes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "ollama-provider needs Python 3.10 or newer; set PYTHON=/path/to/python3.x" >&2
  exit 2
fi
extras="$1"
venv="${2:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating $venv with $("$python" --version)" >&2
  "$python" -m venv "$venv"
fi
if [ -n "$extras" ]; then
  stamp="$venv/.installed-${extras//,/-}"
  want="$(cat pyproject.toml | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "[setup] installing ollama-provider[$extras] into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
    echo "$want" > "$stamp"
  fi
fi
