"""Several servers through one client: throughput, the cost of a dead server, the spread.

Three loopback servers (``bench/server.py`` processes), each a model with a fixed
capacity: ``--slots`` answers stream at once, one token every ``pace`` µs each
(the others wait for a slot, as llama.cpp's ``--parallel`` slots make them).
The client is the library given the servers as a list (``Ollama``, ``api_base``
a list of roots), in this process.

- Throughput: the same closed-loop load (``workers`` callers, each making calls
  one after another) through the three as a list, and through one of them
  alone; aggregate tokens/s = text chunks received / wall time. Rounds alternate.
- A dead server: the three-server list with the first refusing connections
  (nothing listens there), against the same sequential calls with only the two
  living servers; the extra mean latency per call. The pool is reset at each
  round's start, so every round pays the refused connection once.
- Spread: ``calls`` short calls (same pace) to three equal servers, one at a
  time and ``workers`` at a time; each server's share, from its own request
  counter. Ties in load go to the order given, so calls one at a time all go to
  the first; the target is for calls that overlap.

``python -m bench.servers`` prints the figures; the suite runs it as a section.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from scripts.backends._base import free_port

from bench import wire
from bench.common import MESSAGES, ServerProcess, Stat


async def _call(model: str, bases: list[str]) -> int:
    from ollama_provider import Ollama

    pieces = 0
    async for item in Ollama.create_async_generator(model, MESSAGES, bases):
        if isinstance(item, str) and item:
            pieces += 1
    return pieces


async def _closed_loop(model: str, bases: list[str], workers: int, calls: int) -> tuple[int, float]:
    """(text chunks, seconds): ``workers`` callers share ``calls`` calls, each one at a time."""
    left = [calls]

    async def worker() -> int:
        got = 0
        while left[0] > 0:
            left[0] -= 1
            got += await _call(model, bases)
        return got

    started = time.perf_counter()
    counts = await asyncio.gather(*(worker() for _ in range(workers)))
    return sum(counts), time.perf_counter() - started


def _reset() -> None:
    from ollama_provider import _state

    _state.reset()  # the pool's cool-downs and the model lists: a fresh process


async def _throughput(
    bases: list[str], model: str, tokens: int, workers: int, calls: int, rounds: int
) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"three": [], "one": []}
    plans = {"three": bases, "one": bases[:1]}
    await _closed_loop(model, bases, workers, workers)  # warm: connections, model lists
    for r in range(rounds):
        for name in ("three", "one") if r % 2 == 0 else ("one", "three"):
            chunks, wall = await _closed_loop(model, plans[name], workers, calls)
            if chunks != calls * tokens:
                raise RuntimeError(f"{name}: {chunks} text chunks, expected {calls * tokens}")
            rates[name].append(chunks / wall)
    three, one = Stat.of(rates["three"]), Stat.of(rates["one"])
    return {"three": three.as_dict(), "one": one.as_dict(), "ratio": three.median / one.median}


async def _dead_server(living: list[str], dead: str, calls: int, rounds: int) -> dict[str, Any]:
    model = wire.model_name(16)
    plans = {"with_dead": [dead, *living], "living": living}
    means: dict[str, list[float]] = {"with_dead": [], "living": []}
    firsts: dict[str, list[float]] = {"with_dead": [], "living": []}
    for r in range(rounds):
        for name in ("with_dead", "living") if r % 2 == 0 else ("living", "with_dead"):
            _reset()
            bases = plans[name]
            started = time.perf_counter()
            await _call(model, bases)
            first = time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(calls - 1):
                await _call(model, bases)
            rest = time.perf_counter() - started
            firsts[name].append(first)
            means[name].append((first + rest) / calls)
    with_dead, alive = Stat.of(means["with_dead"]), Stat.of(means["living"])
    first_dead, first_alive = Stat.of(firsts["with_dead"]), Stat.of(firsts["living"])
    return {
        "with_dead_ms": _ms(with_dead),
        "living_ms": _ms(alive),
        "extra_ms": (with_dead.median - alive.median) * 1e3,
        "first_with_dead_ms": _ms(first_dead),
        "first_living_ms": _ms(first_alive),
    }


def _ms(stat: Stat) -> dict[str, float]:
    return {k: (v * 1e3 if k != "n" else v) for k, v in stat.as_dict().items()}


async def _spread(
    servers: list[ServerProcess], calls: int, workers: int, model: str
) -> dict[str, Any]:
    """Each server's share of ``calls`` calls to a paced model: the servers stream at a fixed
    rate, so calls that overlap find them busy (instant answers would never overlap)."""
    bases = [s.base for s in servers]
    found: dict[str, Any] = {}
    for name, at_once in (("sequential", 1), ("concurrent", workers)):
        _reset()
        before = [s.stats()["chats"] for s in servers]
        await _closed_loop(model, bases, at_once, calls)
        shares = [s.stats()["chats"] - b for s, b in zip(servers, before, strict=True)]
        even = calls / len(servers)
        found[name] = {
            "at_once": at_once,
            "shares": shares,
            "worst_deviation": max(abs(n - even) / even for n in shares),
        }
    return found


def run(
    *, tokens: int, pace_us: int, slots: int, workers: int, calls: int, rounds: int,
    dead_calls: int, spread_calls: int,
) -> dict[str, Any]:  # fmt: skip
    model = wire.model_name(tokens, pace_us)
    short = wire.model_name(8, pace_us)  # the spread's calls: the same pace, fewer tokens
    args = ("--slots", str(slots), "--models", f"{model},{short}")
    servers = [ServerProcess(args=args) for _ in range(3)]
    try:
        bases = [s.base for s in servers]

        async def main() -> dict[str, Any]:
            import ollama_provider

            try:
                out: dict[str, Any] = {}
                out["throughput"] = await _throughput(bases, model, tokens, workers, calls, rounds)
                dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: refused
                out["dead"] = await _dead_server(bases[:2], dead, dead_calls, rounds)
                out["spread"] = await _spread(servers, spread_calls, workers, short)
                return out
            finally:
                await ollama_provider.aclose()

        result = asyncio.run(main())
    finally:
        for server in servers:
            server.stop()
        _reset()
    per_stream = 1e6 / pace_us
    return {
        "tokens": tokens,
        "pace_us": pace_us,
        "slots": slots,
        "workers": workers,
        "calls": calls,
        "rounds": rounds,
        "dead_calls": dead_calls,
        "spread_calls": spread_calls,
        "capacity_per_server": per_stream * slots,
        **result,
    }


def markdown(result: dict[str, Any]) -> list[str]:
    if not result:
        return []
    t, dead, spread = result["throughput"], result["dead"], result["spread"]

    def rate(stat: dict[str, float]) -> str:
        return f"{stat['median']:.0f} ({stat['min']:.0f}–{stat['max']:.0f})"

    def ms(stat: dict[str, float]) -> str:
        return f"{stat['median']:.3f} ({stat['min']:.3f}–{stat['max']:.3f})"

    lines = [
        "## Several servers",
        "",
        f"Three loopback servers, each a model with {result['slots']} slots streaming one "
        f"token every {result['pace_us']} µs",
        f"(at most {result['capacity_per_server']:.0f} tokens/s per server; more requests "
        "wait for a slot), and the library",
        f"given them as a list (`bench/servers.py`, {result['rounds']} alternating rounds, "
        "median (min–max)).",
        "",
        f"**Throughput**: {result['workers']} callers in one process share "
        f"{result['calls']} calls of {result['tokens']} tokens,",
        "each caller making one call at a time; tokens/s = text chunks received / wall time.",
        "",
        "| servers | tokens/s |",
        "| --- | --- |",
        f"| one (the first, alone) | {rate(t['one'])} |",
        f"| three, as a list | {rate(t['three'])} |",
        "",
        f"Ratio of the medians: {t['ratio']:.2f} (3 would be perfect).",
        "",
        f"**A dead server**: {result['dead_calls']} calls of 16 tokens, one at a time, with "
        "the first of three servers",
        "refusing connections (nothing listens there), against the two living servers "
        "alone. The pool",
        "is reset at each round's start, so every round pays the refused connection once "
        "(the first call).",
        "",
        "| servers | ms per call | first call ms |",
        "| --- | --- | --- |",
        f"| dead + two living | {ms(dead['with_dead_ms'])} | {ms(dead['first_with_dead_ms'])} |",
        f"| two living | {ms(dead['living_ms'])} | {ms(dead['first_living_ms'])} |",
        "",
        f"Extra per call (difference of the medians): {dead['extra_ms']:.3f} ms.",
        "",
        f"**Spread**: {result['spread_calls']:,} calls to three equal servers; each "
        "server's count of chat requests.",
        "Ties in load go to the order given (a list says which server to prefer when none is",
        "busy), so calls made one at a time all go to the first; calls that overlap spread.",
        "",
        "| calls | shares | worst deviation from even |",
        "| --- | --- | --- |",
    ]
    for name, row in spread.items():
        shares = " / ".join(str(n) for n in row["shares"])
        lines.append(f"| {name} ({row['at_once']} at once) | {shares} "
                     f"| {row['worst_deviation']:.1%} |")  # fmt: skip
    lines.append("")
    return lines


if __name__ == "__main__":
    sizes = {"tokens": 50, "pace_us": 5000, "slots": 2, "workers": 6, "calls": 36}
    print(json.dumps(run(**sizes, rounds=3, dead_calls=200, spread_calls=1000), indent=1))
