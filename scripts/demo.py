"""The main job, end to end: stream an answer from a local model, then list the models.

Uses the Ollama server at OLLAMA_HOST (default 127.0.0.1:11434) when one answers
and has a model; otherwise starts the embedded backend, llama.cpp's
server (the prebuilt ``xllamacpp`` wheel) with SmolLM2-135M (downloaded once, then cached),
and says which one it used. Diagnostics go to stderr, the answer to stdout.

    python scripts/demo.py ["your prompt"]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ollama_provider import (
    FinishReason,
    Ollama,
    ProviderError,
    Reasoning,
    ToolCalls,
    Usage,
)

PROMPT = "In two sentences, why is the sea salty?"


def say(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


def local_ollama() -> tuple[str, list[str]] | None:
    """The Ollama at OLLAMA_HOST, if one answers with at least one model."""
    address = Ollama.server_address()
    try:
        models = Ollama.get_models(timeout=3.0)
    except ProviderError as exc:
        say(f"no Ollama answered at {address.root}: {type(exc).__name__}")
        return None
    if not models:
        say(f"the Ollama at {address.root} has no models (`ollama pull llama3.2` adds one)")
        return None
    return address.root, models


async def stream_answer(model: str, api_base: str | None, prompt: str) -> None:
    messages = [{"role": "user", "content": prompt}]
    events: list[Any] = []
    thinking = False
    async for item in Ollama.create_async_generator(
        model, messages, api_base=api_base, max_tokens=200
    ):
        if isinstance(item, str):
            if thinking:
                print(file=sys.stderr, flush=True)
                thinking = False
            print(item, end="", flush=True)
        elif isinstance(item, Reasoning):
            thinking = True
            print(item.text, end="", file=sys.stderr, flush=True)
        else:
            events.append(item)
    print()
    for event in events:
        if isinstance(event, FinishReason):
            say(f"finish reason: {event.reason}")
        elif isinstance(event, Usage):
            say(f"tokens: {event.prompt_tokens} in, {event.completion_tokens} out")
        elif isinstance(event, ToolCalls):
            say(f"tool calls: {event.calls}")


def main() -> int:
    prompt = " ".join(sys.argv[1:]) or PROMPT
    found = local_ollama()
    server = None
    if found is not None:
        root, models = found
        say(f"using the Ollama server at {root}")
        api_base = None
    else:
        from scripts.backends import _base, llama

        say(
            "falling back to the embedded backend: llama.cpp's server (the xllamacpp wheel) "
            "with SmolLM2-135M (a 98 MB download on first use, then cached)"
        )
        server = llama.start(log_path=_base.cache_dir() / "logs" / "demo-llama-server.log")
        api_base = server.base_url
        say(f"using the embedded llama.cpp server at {server.url}")
    try:
        models = Ollama.get_models(api_base=api_base)
        model = Ollama.default_model
        say(f"model: {model}; prompt: {prompt!r}")
        asyncio.run(stream_answer(model, api_base, prompt))
        print("\nModels on this server:")
        for name in models:
            print(f"  {name}")
    except ProviderError as exc:
        say(f"error: {exc}")
        return 1
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
