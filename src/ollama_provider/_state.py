"""Module-level state, and the one function that forgets all of it.

The caches (model lists, endpoints, parsed addresses, TLS contexts) exist for
speed and are measured in ``bench/``; none holds anything a caller could not
get again. The pool of several servers keeps each one's load and cool-down.
Tests call :func:`reset` between cases.
"""

from __future__ import annotations

__all__ = ["reset"]


def reset() -> None:
    """Forget every cache and the providers' ``models``/``default_model``."""
    import sys

    from .providers import Ollama, OpenaiAPI, ollama, openai_api

    for name in ("_catalog", "_endpoint", "_pool", "_transport"):
        module = sys.modules.get(f"{__package__}.{name}")
        if module is not None:  # not loaded: nothing cached
            module.reset()
    ollama._resolve.cache_clear()
    openai_api._parse_base_url.cache_clear()
    for cls in (Ollama, OpenaiAPI):
        cls.models = []
        cls.default_model = ""
