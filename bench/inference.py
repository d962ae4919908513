"""Embeddings and plain-prompt generation against the loopback server.

- Embedding N short texts (384 floats each; the server answers at once): the
  library's batched ``Ollama.embed`` against ollama-python's ``embed`` called
  in a loop over the same batches, and plain aiohttp + orjson loops over the
  same batches (one after another, and 4 at a time): wall time per call, and
  the peak of Python allocations (tracemalloc, a separate round) against the
  size of the result itself.
- ``Ollama.generate`` (native ``/api/generate``) per streamed chunk against the
  chat's native route, same chunk count.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from bench.common import MESSAGES, Stat, rotate

BATCH = 256
MODEL = "bench-embed"


def _texts(n: int) -> list[str]:
    return [f"short text number {i} about the sea" for i in range(n)]


async def _library(base: str, texts: list[str]) -> list[list[float]]:
    from ollama_provider import Ollama

    result = await Ollama.embed(MODEL, texts, api_base=base, batch_size=BATCH)
    return result.embeddings


async def _ollama_python(base: str, texts: list[str]) -> list[list[float]]:
    import ollama

    client = ollama.AsyncClient(host=base)
    vectors: list[list[float]] = []
    for start in range(0, len(texts), BATCH):
        answer = await client.embed(model=MODEL, input=texts[start : start + BATCH])
        vectors += [list(v) for v in answer.embeddings]
    return vectors


def _plain(concurrent: int) -> Callable[[str, list[str]], Awaitable[list[list[float]]]]:
    async def run(base: str, texts: list[str]) -> list[list[float]]:
        import aiohttp
        import orjson

        gate = asyncio.Semaphore(concurrent)
        async with aiohttp.ClientSession() as session:

            async def one(batch: list[str]) -> list[list[float]]:
                async with gate:
                    body = orjson.dumps({"model": MODEL, "input": batch})
                    async with session.post(base + "/api/embed", data=body) as resp:
                        data = orjson.loads(await resp.read())
                        vectors: list[list[float]] = data["embeddings"]
                        return vectors

            batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
            results = await asyncio.gather(*(one(b) for b in batches))
        return [v for batch in results for v in batch]

    return run


CLIENTS: dict[str, tuple[str, Callable[[str, list[str]], Awaitable[list[list[float]]]]]] = {
    "library": ("ollama_provider Ollama.embed (batches of 256, 4 at a time)", _library),
    "ollama": ("ollama-python AsyncClient.embed, a loop over batches of 256", _ollama_python),
    "plain-1": ("plain aiohttp + orjson, batches one after another", _plain(1)),
    "plain-4": ("plain aiohttp + orjson, 4 batches at a time", _plain(4)),
}


def _size_of(vectors: list[list[float]]) -> int:
    """Bytes the result itself holds: the lists and their floats."""
    if not vectors:
        return 0
    per_list = sys.getsizeof(vectors[0])
    return sys.getsizeof(vectors) + len(vectors) * (per_list + len(vectors[0]) * 24)


async def _embeddings(base: str, n: int, rounds: int) -> dict[str, Any]:
    texts = _texts(n)
    times: dict[str, list[float]] = {k: [] for k in CLIENTS}
    for round_ in range(rounds):
        for key in rotate(list(CLIENTS), round_):
            started = time.perf_counter()
            vectors = await CLIENTS[key][1](base, texts)
            times[key].append(time.perf_counter() - started)
            assert len(vectors) == n and len(vectors[-1]) == 384, key
    memory: dict[str, float] = {}
    for key, (_, fn) in CLIENTS.items():
        tracemalloc.start()
        vectors = await fn(base, texts)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        memory[key] = peak / _size_of(vectors)
        del vectors
    rows = {
        key: {
            "label": label,
            "wall_s": Stat.of(times[key]).as_dict(),
            "peak_per_result": memory[key],
        }
        for key, (label, _) in CLIENTS.items()
    }
    best_plain = min(statistics.median(times["plain-1"]), statistics.median(times["plain-4"]))
    library = statistics.median(times["library"])
    return {
        "texts": n,
        "rounds": rounds,
        "clients": rows,
        "vs_ollama": library / statistics.median(times["ollama"]),
        "vs_best_plain": library / best_plain,
    }


async def _generate(base: str, chunks: int, rounds: int) -> dict[str, Any]:
    from ollama_provider import Ollama

    model = f"bench:{chunks}"
    times: dict[str, list[float]] = {"generate": [], "chat": []}

    async def generate() -> int:
        return len([i async for i in Ollama.generate(model, "x", api_base=base) if type(i) is str])

    async def chat() -> int:
        items = Ollama.create_async_generator(model, MESSAGES, base, options={})
        return len([i async for i in items if type(i) is str])

    for _ in range(rounds):
        for name, fn in (("generate", generate), ("chat", chat)):
            started = time.perf_counter()
            count = await fn()
            times[name].append((time.perf_counter() - started) / count * 1e6)
            assert count == chunks, (name, count)
    return {
        "chunks": chunks,
        "rounds": rounds,
        "generate_us": Stat.of(times["generate"]).as_dict(),
        "chat_us": Stat.of(times["chat"]).as_dict(),
        "ratio": statistics.median(times["generate"]) / statistics.median(times["chat"]),
    }


def run(base: str, texts: int, rounds: int, chunks: int) -> dict[str, Any]:
    async def both() -> dict[str, Any]:
        return {
            "embeddings": await _embeddings(base, texts, rounds),
            "generate": await _generate(base, chunks, rounds),
        }

    return asyncio.run(both())


def markdown(result: dict[str, Any]) -> list[str]:
    if not result:
        return []
    emb, gen = result["embeddings"], result["generate"]
    lines = [
        f"## Embeddings ({emb['texts']:,} short texts, 384 floats each, {emb['rounds']} rounds)",
        "",
        "The server answers at once, so this is the client's own cost. `peak / result` is",
        "the peak of Python allocations during the call over the size of the vectors",
        "returned (tracemalloc, a separate round): 1.0 would be the result alone.",
        "",
        "| client | wall s | peak / result |",
        "| --- | --- | --- |",
    ]
    for row in emb["clients"].values():
        wall = row["wall_s"]
        lines.append(
            f"| {row['label']} | {wall['median']:.3f} ({wall['min']:.3f}–{wall['max']:.3f}) "
            f"| {row['peak_per_result']:.2f} |"
        )
    lines += [
        "",
        f"Library / ollama-python: {emb['vs_ollama']:.2f}; library / best plain loop: "
        f"{emb['vs_best_plain']:.2f}.",
        "",
        f"## Generate ({gen['chunks']:,} chunks, {gen['rounds']} rounds)",
        "",
        f"`Ollama.generate` {gen['generate_us']['median']:.2f} µs per chunk against the chat's",
        f"native route {gen['chat_us']['median']:.2f} µs: a ratio of {gen['ratio']:.2f}.",
        "",
    ]
    return lines
