#!/usr/bin/env bash
# The whole test suite on a fresh machine: .venv, the real servers' model (downloaded
# once, then cached in ~/.cache/ollama-provider), lint, types, tests.
source "$(dirname "$0")/_venv.sh" test
.venv/bin/python -m scripts.backends provision
echo "[test] ruff" >&2
.venv/bin/ruff check src tests scripts bench
.venv/bin/ruff format --check src tests scripts bench
echo "[test] mypy --strict" >&2
.venv/bin/mypy
echo "[test] pytest" >&2
exec .venv/bin/python -m pytest "$@"
