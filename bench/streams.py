"""Per-chunk cost, time to first chunk and connection reuse against the loopback server.

All clients live in this process and are measured in alternating rounds
(client order rotates each round: ABC, BCA, CAB, ...). The server is another
process; its CPU time per chunk is read from its stats endpoint around every
measurement, so the report can show it was never the bottleneck.
"""

from __future__ import annotations

import gc
from typing import Any

from bench import wire
from bench.clients import Client, settle
from bench.common import MESSAGES, ServerProcess, Stat, rotate


def _fail(client: Client, why: str) -> None:
    client.available = False
    client.reason = why
    print(f"  ! {client.label}: {why}")


async def open_all(clients: list[Client], n: int) -> list[Client]:
    """Open each client and check it reads the exact answer on both a short and a long stream."""
    ready = []
    for client in clients:
        if not client.available:
            continue
        try:
            await client.open()
            for size in (3, n):
                _, _, text = await client.measure(size)
                if text != client.expected(size):
                    raise AssertionError(f"wrong text for {size} chunks: {text[:80]!r}...")
        except Exception as exc:
            _fail(client, f"{type(exc).__name__}: {exc}")
            continue
        ready.append(client)
    return ready


async def per_chunk(
    clients: list[Client], server: ServerProcess, n: int, rounds: int, pace_us: int = 0
) -> dict[str, Any]:
    """Wall and CPU seconds per chunk of an ``n``-chunk stream, per client.

    ``pace_us`` makes the server write one chunk at a time that far apart, so each
    read holds about one chunk, as with a real model: then the per-read path counts.
    """
    for client in clients:
        client.pace_us = pace_us
    walls: dict[str, list[float]] = {c.key: [] for c in clients}
    cpus: dict[str, list[float]] = {c.key: [] for c in clients}
    server_cpu: dict[str, list[float]] = {c.key: [] for c in clients}
    for r in range(rounds):
        for client in rotate([c for c in clients if c.available], r):
            gc.collect()
            before = server.stats()["cpu_s"]
            try:
                wall, cpu, text = await client.measure(n)
            except Exception as exc:
                _fail(client, f"{type(exc).__name__}: {exc}")
                continue
            after = server.stats()["cpu_s"]
            if text != client.expected(n):
                _fail(client, f"wrong text in round {r}")
                continue
            walls[client.key].append(wall / n)
            cpus[client.key].append(cpu / n)
            server_cpu[client.key].append((after - before) / n)
        print(f"  per-chunk round {r + 1}/{rounds} done")
    for client in clients:
        client.pace_us = 0
    out: dict[str, Any] = {}
    for client in clients:
        if not walls.get(client.key):
            continue
        out[client.key] = {
            "label": client.label,
            "route": client.route,
            "wall": Stat.of(walls[client.key]).as_dict(),
            "cpu": Stat.of(cpus[client.key]).as_dict(),
            "server_cpu": Stat.of(server_cpu[client.key]).as_dict(),
        }
    return out


async def first_chunk(
    clients: list[Client], server: ServerProcess, n: int, rounds: int
) -> dict[str, Any]:
    """Seconds to the first text chunk, warm (pooled connection) and cold (new client)."""
    warm: dict[str, list[float]] = {c.key: [] for c in clients}
    cold: dict[str, list[float]] = {c.key: [] for c in clients}
    warm_conns: dict[str, list[int]] = {c.key: [] for c in clients}
    cold_conns: dict[str, list[int]] = {c.key: [] for c in clients}
    for r in range(rounds):
        for client in rotate([c for c in clients if c.available], r):
            try:
                await client.first(n)  # make sure the pool holds a live connection
                await settle()
                gc.collect()
                c0 = server.stats()["connections"]
                warm[client.key].append(await client.first(n))
                c1 = server.stats()["connections"]
                gc.collect()
                took = await client.cold_first(n)
                c2 = server.stats()["connections"]
            except Exception as exc:
                _fail(client, f"{type(exc).__name__}: {exc}")
                continue
            warm_conns[client.key].append(c1 - c0)
            if took is not None:
                cold[client.key].append(took)
                cold_conns[client.key].append(c2 - c1)
            await settle()
    out: dict[str, Any] = {}
    for client in clients:
        if not warm.get(client.key):
            continue
        out[client.key] = {
            "label": client.label,
            "warm": Stat.of(warm[client.key]).as_dict(),
            "cold": Stat.of(cold[client.key]).as_dict() if cold[client.key] else None,
            "warm_new_connections": max(warm_conns[client.key]),
            "cold_new_connections": min(cold_conns[client.key], default=None),
        }
    return out


async def connection_reuse(server: ServerProcess) -> dict[str, Any]:
    """Connections the server accepts for two requests in a row: the second must open none."""
    import ollama_provider
    from ollama_provider import Ollama

    base = server.base + "/v1"
    model = wire.model_name(50)
    results: dict[str, Any] = {}

    async def consume(**kwargs: Any) -> None:
        async for _ in Ollama.create_async_generator(model, MESSAGES, api_base=base, **kwargs):
            pass

    for route, kwargs in (("sse", {}), ("native", {"keep_alive": "5m"})):
        await ollama_provider.aclose()
        counts = []
        for _ in range(3):
            c0 = server.stats()["connections"]
            await consume(**kwargs)
            counts.append(server.stats()["connections"] - c0)
        results[route] = counts
    counts = []
    for _ in range(3):
        c0 = server.stats()["connections"]
        for _ in Ollama.create_completion(model, MESSAGES, api_base=base):
            pass
        counts.append(server.stats()["connections"] - c0)
    results["sync"] = counts
    # A models listing followed by a chat reuses the same pooled connection too.
    await ollama_provider.aclose()
    c0 = server.stats()["connections"]
    await Ollama.get_models_async(api_base=base, refresh=True)
    await consume()
    results["tags_then_chat"] = [server.stats()["connections"] - c0]
    results["met"] = all(c[1:] == [0] * (len(c) - 1) for c in results.values() if len(c) > 1)
    results["met"] = results["met"] and results["tags_then_chat"] == [1]
    return results
