"""gpt4free's OpenAI-compatible provider, driven from its own venv (its deps stay out of ours).

Run as ``<g4f-venv>/bin/python -m bench.g4f_worker BASE`` from the repo root.
Reads one JSON command per line on stdin (``{"op": "stream"|"first"|"cold",
"n": N}``), answers one JSON line each on stdout. Times are measured here, in
this process, exactly as :meth:`bench.clients.Client.measure` does in-process.
Imports only the standard library, g4f and :mod:`bench.wire`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from bench import wire

MESSAGES = [{"role": "user", "content": "Tell me a story."}]


def _provider() -> Any:
    from g4f.Provider import Custom  # the generic OpenAI-compatible provider

    return Custom


async def _run(base: str, n: int, t0: float | None, pace: int = 0) -> tuple[str, float]:
    provider = _provider()
    parts = []
    took = 0.0
    gen = provider.create_async_generator(
        wire.model_name(n, pace), MESSAGES, base_url=base + "/v1", stream=True
    )
    async for item in gen:
        if type(item) is str:
            if t0 is not None and not took:
                took = time.perf_counter() - t0
            parts.append(item)
    return "".join(parts), took


async def _serve(base: str) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        cmd = json.loads(line)
        n = int(cmd.get("n", 16))
        answer: dict[str, Any]
        try:
            if cmd["op"] == "stream":
                cpu0, t0 = time.process_time(), time.perf_counter()
                text, _ = await _run(base, n, None, int(cmd.get("pace", 0)))
                t1, cpu1 = time.perf_counter(), time.process_time()
                answer = {"wall": t1 - t0, "cpu": cpu1 - cpu0, "text": text}
            elif cmd["op"] in ("first", "cold"):
                t0 = time.perf_counter()
                if cmd["op"] == "cold":  # g4f pools connections in a per-loop shared connector
                    from g4f.requests.aiohttp import close_shared_connectors

                    await close_shared_connectors()
                _, took = await _run(base, n, t0)
                answer = {"first": took}
            elif cmd["op"] == "version":
                from importlib.metadata import version

                answer = {"version": version("g4f")}
            else:
                answer = {"error": f"unknown op {cmd['op']!r}"}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def main() -> None:
    asyncio.run(_serve(sys.argv[1]))


if __name__ == "__main__":
    main()
