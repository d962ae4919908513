#!/usr/bin/env bash
# The benchmark suite: .venv with the peers (httpx, ollama, openai, matplotlib), then
# bench/ against them in one run; writes BENCHMARKS.md and bench/results/*.png.
# --smoke: every path with tiny sizes, seconds not minutes, no timing checks (CI).
source "$(dirname "$0")/_venv.sh" test,bench
exec .venv/bin/python -m bench "$@"
