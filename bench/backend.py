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
from pathlib import Path
from typing import Any

from bench.common import Stat

_PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


def _body(model: str, tokens: int) -> dict[str, Any]:
    return {
        "model": model,
        "messages": _PROMPT,
        "max_tokens": tokens,
        "temperature": 0,
        "seed": 42,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def _library(base_url: str, model: str, tokens: int) -> tuple[float, int, int]:
    from ollama_provider import Ollama, Usage

    used = chunks = 0
    t0 = time.perf_counter()
    async for item in Ollama.create_async_generator(
        model,
        _PROMPT,
        api_base=base_url,
        max_tokens=tokens,
        temperature=0,
        seed=42,
        extra_body={"ignore_eos": True},
    ):
        if type(item) is str:
            chunks += 1
        elif isinstance(item, Usage):
            used = item.completion_tokens
    return time.perf_counter() - t0, used, chunks


async def _plain(session: Any, base_url: str, model: str, tokens: int) -> tuple[float, int, int]:
    import aiohttp

    used = chunks = 0
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
        async for line in resp.content:
            if line.startswith(b"data: "):
                payload = line[6:].rstrip()
                if payload == b"[DONE]":
                    continue  # read on to the end: the connection goes back to the pool
                obj = json.loads(payload)
                if obj.get("usage"):
                    used = obj["usage"]["completion_tokens"]
                choices = obj["choices"]
                if choices and choices[0]["delta"].get("content"):
                    chunks += 1
    return time.perf_counter() - t0, used, chunks


async def _rounds(base_url: str, model: str, tokens: int, rounds: int) -> dict[str, Any]:
    import aiohttp

    rates: dict[str, list[float]] = {"library": [], "plain": []}
    counts: dict[str, list[int]] = {"library": [], "plain": []}
    async with aiohttp.ClientSession() as session:
        await _library(base_url, model, 8)  # warm both pools and the server's prompt cache
        await _plain(session, base_url, model, 8)
        for _ in range(rounds):
            for who in ("library", "plain"):  # ABAB: each idles only during the other's turn
                if who == "library":
                    wall, used, chunks = await _library(base_url, model, tokens)
                else:
                    wall, used, chunks = await _plain(session, base_url, model, tokens)
                if not used:
                    raise RuntimeError(f"{who}: the server reported no completion tokens")
                rates[who].append(used / wall)
                counts[who].append(chunks)
    lib, plain = Stat.of(rates["library"]), Stat.of(rates["plain"])
    return {
        "tokens": tokens,
        "rounds": rounds,
        "library": lib.as_dict(),
        "plain": plain.as_dict(),
        "chunks": {k: Stat.of([float(c) for c in v]).as_dict() for k, v in counts.items()},
        "ratio": lib.median / plain.median,
    }


def other_llama_servers() -> int:
    """llama-server processes already running here: they compete for the same cores."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"scripts.backends.llama" in cmdline and int(entry.name) != os.getpid():
                count += 1
    return count


def provisioned() -> bool:
    from scripts.backends import _base

    return (_base.cache_dir() / "models" / _base.MODEL_FILENAME).is_file()


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
