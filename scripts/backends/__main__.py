"""``python -m scripts.backends provision``: fetch and build what the tests need, once.

The model always; Ollama v0.24.0 (built from source) when Go is installed; the
LiteLLM proxy's own venv always. Without Go the real-Ollama tests are skipped,
except under ``CI=true``, where a missing Go fails here, as a failed build does
everywhere.
"""

from __future__ import annotations

import os
import sys

from . import ollama
from ._base import fetch_model, say
from .litellm_proxy import ensure_venv


def main(argv: list[str]) -> int:
    if argv != ["provision"]:
        print("usage: python -m scripts.backends provision", file=sys.stderr)
        return 2
    say(f"model: {fetch_model()}")
    try:
        say(f"ollama: {ollama.ensure_built()}")
    except ollama.OllamaUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            say(f"CI=true: the real-Ollama tests cannot be skipped here. {exc}")
            return 1
        say(f"{exc} (the real-Ollama tests will be skipped)")
    say(f"LiteLLM proxy: {ensure_venv()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
