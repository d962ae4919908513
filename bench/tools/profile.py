"""Profile one client's per-chunk path against the loopback server (not in ``python -m bench``).

    python -m bench.tools.profile --client lib-sse --tool pyinstrument
    python -m bench.tools.profile --client aiohttp --tool cprofile
    py-spy record -o lib.svg -- python -m bench.tools.profile --client lib-sse --tool none

The server runs in its own process; only the streaming loop is profiled.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import time

from bench.common import ServerProcess
from bench.sdk_clients import ALL_CLIENTS


async def _streams(key: str, base: str, chunks: int, repeat: int, tool: str) -> None:
    client = {c.key: c for c in ALL_CLIENTS}[key](base)
    await client.open()
    await client.stream(chunks)  # warm: pool, caches
    profiler: object = None
    if tool == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
    elif tool == "cprofile":
        profiler = cProfile.Profile()
        profiler.enable()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for _ in range(repeat):
        await client.stream(chunks)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if isinstance(profiler, cProfile.Profile):
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
        stats.print_stats(25)
        print(out.getvalue())
    elif profiler is not None:
        profiler.stop()  # type: ignore[attr-defined]
        print(profiler.output_text(unicode=True, color=False, show_all=False))  # type: ignore[attr-defined]
    total = chunks * repeat
    print(
        f"{key}: {wall / total * 1e6:.2f} µs wall, {cpu / total * 1e6:.2f} µs CPU per chunk "
        f"({repeat} x {chunks} chunks; under {tool})"
    )
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--client", default="lib-sse", choices=[c.key for c in ALL_CLIENTS])
    parser.add_argument("--chunks", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument(
        "--tool", default="pyinstrument", choices=("pyinstrument", "cprofile", "none")
    )
    args = parser.parse_args()
    with ServerProcess() as server:
        asyncio.run(_streams(args.client, server.base, args.chunks, args.repeat, args.tool))


if __name__ == "__main__":
    main()
