"""The benchmark suite of ollama-provider: ``python -m bench`` (see bench/run.py)."""
