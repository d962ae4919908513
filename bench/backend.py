"""Tokens per second through llama.cpp's real server (``scripts/backends/llama.py``).

The library and a plain aiohttp readline + ``json.loads`` loop ask the same
server for the same fixed-length answer (temperature 0, a seed, ``ignore_eos``
and ``max_tokens``), in alternating rounds. Tokens per second is the
server-reported completion token count divided by the client's wall time for
the whole request. Anything that keeps the backend from running turns into a
skip with the reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.common import Stat

__all__ = ["FIXED", "PROMPT", "alternate", "library", "other_llama_servers", "read_sse", "run"]

PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
FIXED: dict[str, Any] = {"temperature": 0, "seed": 42}

#: One answer of ``tokens`` tokens: (wall seconds, completion tokens, text chunks).
Answer = Callable[[int], Awaitable[tuple[float, int, int]]]


def _body(model: str, tokens: int) -> dict[str, Any]:
    return {
        "model": model,
        "messages": PROMPT,
        "max_tokens": tokens,
        **FIXED,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def library(base_url: str, model: str, tokens: int, **kwargs: Any) -> tuple[float, int, int]:
    """:data:`PROMPT` through the library (temperature 0, seed 42, ``kwargs`` added)."""
    from ollama_provider import Ollama, Usage

    used = chunks = 0
    t0 = time.perf_counter()
    async for item in Ollama.create_async_generator(
        model, PROMPT, api_base=base_url, max_tokens=tokens, **FIXED, **kwargs
    ):
        if type(item) is str:
            chunks += 1
        elif isinstance(item, Usage):
            used = item.completion_tokens
    return time.perf_counter() - t0, used, chunks


async def read_sse(resp: Any) -> tuple[int, int]:
    """(completion tokens, text chunks) of an OpenAI-style SSE answer, read to its end
    (so the connection goes back to the pool): the plain ``readline`` + ``json.loads`` loop."""
    used = chunks = 0
    async for line in resp.content:
        if line.startswith(b"data: "):
            payload = line[6:].rstrip()
            if payload == b"[DONE]":
                continue
            obj = json.loads(payload)
            if obj.get("usage"):
                used = obj["usage"]["completion_tokens"]
            choices = obj["choices"]
            if choices and choices[0]["delta"].get("content"):
                chunks += 1
    return used, chunks


async def _plain(session: Any, base_url: str, model: str, tokens: int) -> tuple[float, int, int]:
    import aiohttp

    t0 = time.perf_counter()
    for attempt in (1, 2):
        try:
            resp = await session.post(base_url + "/chat/completions", json=_body(model, tokens))
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            # llama-server closes the connection after every streamed answer although it
            # says keep-alive: a pooled connection is dead, so retry once (as the library does).
            if attempt == 2:
                raise
            continue
        break
    async with resp:
        resp.raise_for_status()
        used, chunks = await read_sse(resp)
    return time.perf_counter() - t0, used, chunks


async def alternate(
    lib: Answer, plain: Answer, tokens: int, rounds: int, label: str = ""
) -> dict[str, Any]:
    """The library and the plain loop in alternating rounds, after one short warm-up
    answer each (both pools and the server's prompt cache): their tokens/s and chunks."""
    await lib(8)
    await plain(8)
    rates: dict[str, list[float]] = {"library": [], "plain": []}
    counts: dict[str, list[float]] = {"library": [], "plain": []}
    for _ in range(rounds):
        for who, answer in (("library", lib), ("plain", plain)):  # ABAB: like conditions
            wall, used, chunks = await answer(tokens)
            if not used:
                raise RuntimeError(f"{label}{who}: the server reported no completion tokens")
            rates[who].append(used / wall)
            counts[who].append(float(chunks))
    lib_stat, plain_stat = Stat.of(rates["library"]), Stat.of(rates["plain"])
    return {
        "library": lib_stat.as_dict(),
        "plain": plain_stat.as_dict(),
        "chunks": {k: Stat.of(v).as_dict() for k, v in counts.items()},
        "ratio": lib_stat.median / plain_stat.median,
    }


async def _rounds(base_url: str, model: str, tokens: int, rounds: int) -> dict[str, Any]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        measured = await alternate(
            lambda n: library(base_url, model, n, extra_body={"ignore_eos": True}),
            lambda n: _plain(session, base_url, model, n),
            tokens,
            rounds,
        )
    return {"tokens": tokens, "rounds": rounds, **measured}


def other_llama_servers() -> int:
    """llama-server processes already running here (``scripts.backends.llama`` or a
    ``llama-server`` binary): they compete for the same cores."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if b"scripts.backends.llama" in cmdline or comm == "llama-server":
                count += 1
    return count


def provisioned() -> bool:
    from scripts.backends import _base

    return _base.model_path().is_file()


def run(
    tokens: int, rounds: int, allow_provision: bool, timeout: float, wait_for_others: float = 0
) -> dict[str, Any]:
    """Start the backend, measure, stop it; ``{"skipped": reason}`` when it cannot run.

    Other llama-servers on this machine (say, a test run) share its cores and slow both
    down badly; up to ``wait_for_others`` seconds are spent waiting for them to exit.
    """
    try:
        from scripts.backends import _base, llama
    except Exception as exc:
        return {"skipped": f"scripts.backends cannot be imported: {exc!r}"}
    if not allow_provision and not provisioned():
        return {"skipped": "the model is not downloaded here (smoke runs do not fetch it)"}
    others = other_llama_servers()
    deadline = time.monotonic() + wait_for_others
    while others and time.monotonic() < deadline:
        print(f"  waiting for {others} other llama-server process(es) to finish ...", flush=True)
        time.sleep(10)
        others = other_llama_servers()
    try:
        server = llama.start()
    except Exception as exc:
        return {"skipped": f"llama.start() failed: {str(exc)[:500]}"}
    try:
        result = asyncio.run(
            asyncio.wait_for(_rounds(server.base_url, _base.MODEL_ALIAS, tokens, rounds), timeout)
        )
    except asyncio.TimeoutError:
        return {"skipped": f"the backend run took longer than {timeout:.0f} s (a busy machine?)"}
    except Exception as exc:
        return {"skipped": f"the backend run failed: {type(exc).__name__}: {str(exc)[:500]}"}
    finally:
        server.stop()
    result["model"] = (
        f"{_base.MODEL_ALIAS} ({_base.MODEL_FILENAME}), xllamacpp {llama.XLLAMACPP_VERSION}"
    )
    result["other_llama_servers"] = others
    return result
