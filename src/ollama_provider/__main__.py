"""``python -m ollama_provider``: the ``ollama-provider`` command."""

from ollama_provider.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
