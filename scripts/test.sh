#!/usr/bin/env bash
# The whole test suite on a fresh machine: .venv, the real servers (the model, downloaded
# once; Ollama v0.24.0, built once with Go in about 3 minutes; the LiteLLM proxy's own
# venv, installed once; all cached in ~/.cache/ollama-provider), lint, types, tests.
# Without Go the real-Ollama tests are skipped with one line saying why, except under
# CI=true, where that fails.
source "$(dirname "$0")/_venv.sh" test
echo "[test] provisioning the real servers" >&2
.venv/bin/python -m scripts.backends provision
echo "[test] ruff" >&2
.venv/bin/ruff check src tests scripts bench
.venv/bin/ruff format --check src tests scripts bench
echo "[test] mypy --strict" >&2
.venv/bin/mypy
echo "[test] pytest" >&2
exec .venv/bin/python -m pytest "$@"
