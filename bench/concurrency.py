"""Many concurrent streams from one client process: wall time, errors, peak RSS.

Each measurement is a fresh subprocess (``python -m bench.concurrency KEY BASE
STREAMS CHUNKS``), so ``ru_maxrss`` is that client's own peak. The parent runs
the clients in alternating rounds and keeps medians.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
from typing import Any

from bench import wire
from bench.common import REPO, ServerProcess, Stat, rotate

CLIENTS = {
    "lib-sse": "ollama_provider (SSE /v1)",
    "lib-native": "ollama_provider (native /api/chat)",
    "aiohttp": "plain aiohttp readline + json.loads",
    "aiohttp-native": "plain aiohttp readline + json.loads (native)",
}


def _maxrss_mb() -> float:
    """``ru_maxrss``. On Linux it survives ``exec``: it is at least the RSS the parent had
    when it forked this process, so the parent runs this part while it is still small."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _hwm_mb() -> float:
    """This process image's own peak RSS (``VmHWM``), unaffected by the parent; -1 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return -1.0


async def _child(key: str, base: str, streams: int, chunks: int) -> dict[str, Any]:
    from bench.sdk_clients import ALL_CLIENTS

    kinds = {c.key: c for c in ALL_CLIENTS}
    client = kinds[key](base)
    await client.open()
    expected = wire.expected_text(chunks)
    baseline = _hwm_mb()
    cpu0, t0 = time.process_time(), time.perf_counter()
    results = await asyncio.gather(
        *(client.stream(chunks) for _ in range(streams)), return_exceptions=True
    )
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    errors = [r for r in results if isinstance(r, BaseException)]
    wrong = sum(1 for r in results if isinstance(r, str) and r != expected)
    await client.close()
    return {
        "wall": wall,
        "cpu": cpu,
        "errors": len(errors) + wrong,
        "error_sample": repr(errors[0])[:300] if errors else "",
        "rss_baseline_mb": baseline,
        "rss_peak_mb": _maxrss_mb(),
        "hwm_peak_mb": _hwm_mb(),
    }


def _run_child(key: str, server: ServerProcess, streams: int, chunks: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.concurrency", key, server.base, str(streams), str(chunks)]
    c0 = server.stats()["connections"]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode:
        return {"failed": done.stderr.strip()[-500:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["connections"] = server.stats()["connections"] - c0
    return result


def run(server: ServerProcess, streams: int, chunks: int, rounds: int) -> dict[str, Any]:
    """Alternating rounds of every client in :data:`CLIENTS`; medians and ranges."""
    raw: dict[str, list[dict[str, Any]]] = {key: [] for key in CLIENTS}
    failures: dict[str, str] = {}
    for r in range(rounds):
        for key in rotate(list(CLIENTS), r):
            result = _run_child(key, server, streams, chunks)
            if "failed" in result:
                failures[key] = result["failed"]
                print(f"  ! concurrency {key}: {result['failed'][-200:]}")
                continue
            raw[key].append(result)
        print(f"  concurrency round {r + 1}/{rounds} done")
    out: dict[str, Any] = {"streams": streams, "chunks": chunks, "clients": {}}
    for key, runs in raw.items():
        if not runs:
            out["clients"][key] = {"label": CLIENTS[key], "failed": failures.get(key, "no run")}
            continue
        out["clients"][key] = {
            "label": CLIENTS[key],
            "wall": Stat.of([x["wall"] for x in runs]).as_dict(),
            "cpu": Stat.of([x["cpu"] for x in runs]).as_dict(),
            "errors": sum(x["errors"] for x in runs),
            "error_sample": next((x["error_sample"] for x in runs if x["error_sample"]), ""),
            "rss_peak_mb": Stat.of([x["rss_peak_mb"] for x in runs]).as_dict(),
            "hwm_peak_mb": Stat.of([x["hwm_peak_mb"] for x in runs]).as_dict(),
            "rss_baseline_mb": Stat.of([x["rss_baseline_mb"] for x in runs]).as_dict(),
            "connections": Stat.of([float(x["connections"]) for x in runs]).as_dict(),
        }
    return out


def main() -> None:
    key, base, streams, chunks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(asyncio.run(_child(key, base, streams, chunks))))


if __name__ == "__main__":
    main()
