"""Tokens per second through the real Ollama server (``scripts/backends/ollama.py``).

The library and a plain aiohttp loop (``readline`` + ``json.loads``) ask the
same Ollama v0.24.0 for the same answer, in alternating rounds, on both of
its routes: the native ``/api/chat`` (NDJSON; the library goes there when a
native option such as ``keep_alive`` is passed) and the OpenAI-compatible
``/v1/chat/completions`` (SSE). Ollama has no ``ignore_eos``; the prompt makes
SmolLM2-135M write far past ``tokens`` at temperature 0, so every answer is cut
at exactly ``tokens``. Tokens per second is the server-reported completion
token count divided by the client's wall time for the whole request.

Smoke runs use Ollama only when it is already built; anything that keeps it
from running turns into a skip with the reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from bench.backend import FIXED, PROMPT, alternate, library, read_sse
from bench.common import rate

ROUTES = ("native", "v1")


async def _plain(
    session: Any, url: str, model: str, route: str, tokens: int
) -> tuple[float, int, int]:
    used = chunks = 0
    t0 = time.perf_counter()
    if route == "native":
        body: dict[str, Any] = {"model": model, "messages": PROMPT, "keep_alive": "10m"}
        body["options"] = {**FIXED, "num_predict": tokens}
        async with session.post(url + "/api/chat", json=body) as resp:
            resp.raise_for_status()
            async for line in resp.content:
                obj = json.loads(line)
                if obj["message"].get("content"):
                    chunks += 1
                if obj.get("done"):
                    used = obj.get("eval_count", 0)
    else:
        body = {"model": model, "messages": PROMPT, "max_tokens": tokens, **FIXED}
        body.update(stream=True, stream_options={"include_usage": True})
        async with session.post(url + "/v1/chat/completions", json=body) as resp:
            resp.raise_for_status()
            used, chunks = await read_sse(resp)
    return time.perf_counter() - t0, used, chunks


async def _rounds(url: str, model: str, tokens: int, rounds: int) -> dict[str, Any]:
    import aiohttp

    out: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        for route in ROUTES:
            native = {"keep_alive": "10m"} if route == "native" else {}
            out[route] = await alternate(
                lambda n: library(url, model, n, **native),  # noqa: B023 - awaited here
                lambda n: _plain(session, url, model, route, n),  # noqa: B023
                tokens,
                rounds,
                f"{route} ",
            )
    return out


def run(tokens: int, rounds: int, allow_provision: bool, timeout: float) -> dict[str, Any]:
    """Start Ollama, measure both routes, stop it; ``{"skipped": reason}`` when it cannot run."""
    try:
        from scripts.backends import _base, ollama
    except Exception as exc:
        return {"skipped": f"scripts.backends cannot be imported: {exc!r}"}
    if not allow_provision and not os.access(ollama.binary_path(), os.X_OK):
        return {"skipped": "Ollama is not built here (smoke runs do not build it)"}
    try:
        server = ollama.start()
    except Exception as exc:
        return {"skipped": f"ollama.start() failed: {str(exc)[:500]}"}
    try:
        routes = asyncio.run(
            asyncio.wait_for(_rounds(server.url, server.model, tokens, rounds), timeout)
        )
    except asyncio.TimeoutError:
        return {"skipped": f"the Ollama run took longer than {timeout:.0f} s (a busy machine?)"}
    except Exception as exc:
        return {"skipped": f"the Ollama run failed: {type(exc).__name__}: {str(exc)[:500]}"}
    finally:
        server.stop()
    return {
        "model": f"{_base.MODEL_ALIAS} ({_base.MODEL_FILENAME}), Ollama v{ollama.VERSION}",
        "tokens": tokens,
        "rounds": rounds,
        "routes": routes,
    }


def markdown(ollama: dict[str, Any]) -> list[str]:
    """The BENCHMARKS.md section for :func:`run`'s result."""
    lines = ["## Real Ollama", ""]
    if "skipped" in ollama:
        return [*lines, f"Skipped: {ollama['skipped']}", ""]
    if not ollama:
        return [*lines, "Not run.", ""]
    lines += [
        f"{ollama['model']}, built from source (`scripts/backends/ollama.py`);",
        f"{ollama['tokens']} tokens per answer (temperature 0, a seed, and a prompt the model",
        "answers at length, so every answer is cut at that count), rounds alternating",
        "library/plain; tokens/s = the server's completion token count / the client's wall",
        f"time; {ollama['rounds']} rounds per route. The plain loop is aiohttp `readline` +",
        "`json.loads`. The library takes the native route when given a native option",
        "(here `keep_alive`).",
        "",
        "| route | client | tokens/s | text chunks |",
        "| --- | --- | --- | --- |",
    ]
    names = {"native": "`/api/chat` (NDJSON)", "v1": "`/v1/chat/completions` (SSE)"}
    for route, row in ollama["routes"].items():
        chunks = row["chunks"]
        lines += [
            f"| {names.get(route, route)} | ollama_provider | {rate(row['library'])} "
            f"| {chunks['library']['median']:.0f} |",
            f"| | plain aiohttp loop | {rate(row['plain'])} | {chunks['plain']['median']:.0f} |",
        ]
    ratios = ", ".join(f"{route} {row['ratio']:.3f}" for route, row in ollama["routes"].items())
    return [*lines, "", f"Ratios (library / plain, medians): {ratios}.", ""]
