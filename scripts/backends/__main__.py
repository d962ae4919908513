"""``python -m scripts.backends provision``: fetch what the tests need, once."""

from __future__ import annotations

import sys

from ._base import fetch_model, say
from .litellm_proxy import ensure_venv


def main(argv: list[str]) -> int:
    if argv != ["provision"]:
        print("usage: python -m scripts.backends provision", file=sys.stderr)
        return 2
    say(f"model: {fetch_model()}")
    say(f"LiteLLM proxy: {ensure_venv()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
