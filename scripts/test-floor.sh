#!/usr/bin/env bash
# The test suite against the oldest dependency versions pyproject.toml allows
# (scripts/floor.txt), in .venv-floor. Run after scripts/test.sh (which lints and types).
source "$(dirname "$0")/_venv.sh" "" .venv-floor  # the folder only: installed below
echo "[floor] installing the oldest allowed dependencies (scripts/floor.txt)" >&2
.venv-floor/bin/python -m pip install --quiet --disable-pip-version-check \
  -c scripts/floor.txt -e ".[test]"
.venv-floor/bin/python -m scripts.backends provision
echo "[floor] pytest with $(.venv-floor/bin/python -c 'import aiohttp; print("aiohttp", aiohttp.__version__)')" >&2
exec .venv-floor/bin/python -m pytest -p no:cacheprovider "$@"
