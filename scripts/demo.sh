#!/usr/bin/env bash
# The main job on a fresh machine: set up .venv, then stream an answer and list the models.
source "$(dirname "$0")/_venv.sh" backend
exec .venv/bin/python scripts/demo.py "$@"
