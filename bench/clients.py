"""The clients being compared, each as the loop a user would write with it.

Every client returns the full answer text (the pieces a user would collect),
so the harness can check it against :func:`bench.wire.expected_text`. Hand-
written loops are kept tight on purpose: they are the practical floor.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from bench import wire
from bench.common import MESSAGES

_SSE_BODY = {"messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}


class Client:
    """One way of streaming a chat. ``stream`` is the timed loop."""

    key = ""
    label = ""
    route = "sse"  # "sse" (OpenAI layer) or "native" (/api/chat)
    available = True
    reason = ""  # why not available
    strips_leading_space = False  # the client drops the answer's leading whitespace
    pace_us = 0  # ask the server to write chunks one at a time, this far apart

    def model(self, n: int) -> str:
        return wire.model_name(n, self.pace_us)

    def expected(self, n: int) -> str:
        text = wire.expected_text(n)
        return text.lstrip() if self.strips_leading_space else text

    def __init__(self, base: str) -> None:
        self.base = base

    async def open(self) -> None:
        """Create the long-lived client (its pool is warmed by the first stream)."""

    async def close(self) -> None:
        """Release the long-lived client."""

    async def stream(self, n: int) -> str:
        raise NotImplementedError

    async def first(self, n: int) -> float:
        """Seconds until the first text piece arrives on the open client; drains the rest."""
        raise NotImplementedError

    async def cold_first(self, n: int) -> float | None:
        """As :meth:`first` with a brand new client/pool (its creation included); None if n/a."""
        return None

    async def measure(self, n: int) -> tuple[float, float, str]:
        """(wall seconds, CPU seconds, text) of one whole stream."""
        cpu0, t0 = time.process_time(), time.perf_counter()
        text = await self.stream(n)
        t1, cpu1 = time.perf_counter(), time.process_time()
        return t1 - t0, cpu1 - cpu0, text


class Pooled(Client):
    """A client object reused across streams (``_make``/``_dispose``); ``_run`` is the loop.

    ``_run`` returns the text and, when given a start time, the seconds until the
    first text piece: one loop serves the timed stream and both first-chunk timings.
    """

    client: Any

    def _make(self) -> Any:
        raise NotImplementedError

    async def _dispose(self, client: Any) -> None:
        raise NotImplementedError

    async def _run(self, client: Any, n: int, t0: float | None) -> tuple[str, float]:
        raise NotImplementedError

    async def open(self) -> None:
        self.client = self._make()

    async def close(self) -> None:
        await self._dispose(self.client)

    async def stream(self, n: int) -> str:
        return (await self._run(self.client, n, None))[0]

    async def first(self, n: int) -> float:
        return (await self._run(self.client, n, time.perf_counter()))[1]

    async def cold_first(self, n: int) -> float:
        t0 = time.perf_counter()
        client = self._make()
        try:
            return (await self._run(client, n, t0))[1]
        finally:
            await self._dispose(client)


class LibrarySSE(Client):
    key, label, route = "lib-sse", "ollama_provider (SSE /v1)", "sse"
    kwargs: dict[str, Any] = {}  # noqa: RUF012

    async def open(self) -> None:
        # The network stack loads lazily on the first request; load it here, as the
        # other clients' open() does (import cost is measured on its own).
        import ollama_provider._streaming
        import ollama_provider._transport  # noqa: F401
        from ollama_provider import Ollama

        self.provider = Ollama

    def _gen(self, n: int) -> Any:
        return self.provider.create_async_generator(
            self.model(n), MESSAGES, api_base=self.base + "/v1", **self.kwargs
        )

    async def stream(self, n: int) -> str:
        parts = []
        async for item in self._gen(n):
            if type(item) is str:
                parts.append(item)
        return "".join(parts)

    async def first(self, n: int) -> float:
        t0 = time.perf_counter()
        took = 0.0
        async for item in self._gen(n):
            if not took and type(item) is str:
                took = time.perf_counter() - t0
        return took

    async def cold_first(self, n: int) -> float | None:
        import ollama_provider

        await ollama_provider.aclose()  # the next call builds a new pool and connection
        return await self.first(n)


class LibraryNative(LibrarySSE):
    key, label, route = "lib-native", "ollama_provider (native /api/chat)", "native"
    kwargs: dict[str, Any] = {"keep_alive": "5m"}  # noqa: RUF012


class LibrarySync(LibrarySSE):
    key, label, route = "lib-sync", "ollama_provider sync (create_completion)", "sse"

    async def stream(self, n: int) -> str:
        parts = []
        for item in self.provider.create_completion(
            self.model(n), MESSAGES, api_base=self.base + "/v1"
        ):
            if type(item) is str:
                parts.append(item)
        return "".join(parts)

    async def first(self, n: int) -> float:
        t0 = time.perf_counter()
        took = 0.0
        for item in self.provider.create_completion(
            self.model(n), MESSAGES, api_base=self.base + "/v1"
        ):
            if not took and type(item) is str:
                took = time.perf_counter() - t0
        return took

    async def cold_first(self, n: int) -> None:
        return None


class AiohttpLoop(Pooled):
    """``async for line in resp.content`` (aiohttp's readline) + ``json.loads``."""

    key, label, route = "aiohttp", "plain aiohttp readline + json.loads", "sse"
    loads: Any = staticmethod(json.loads)

    def _make(self) -> Any:
        import aiohttp

        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def _dispose(self, client: Any) -> None:
        await client.close()

    async def _run(self, session: Any, n: int, t0: float | None) -> tuple[str, float]:
        loads = self.loads
        parts = []
        took = 0.0
        body = {"model": self.model(n), **_SSE_BODY}
        async with session.post(self.base + "/v1/chat/completions", json=body) as resp:
            resp.raise_for_status()
            async for line in resp.content:
                if line.startswith(b"data: "):
                    payload = line[6:].rstrip()
                    if payload == b"[DONE]":
                        continue  # read on to the end: the connection goes back to the pool
                    choices = loads(payload)["choices"]
                    if choices:
                        content = choices[0]["delta"].get("content")
                        if content:
                            if t0 is not None and not took:
                                took = time.perf_counter() - t0
                            parts.append(content)
        return "".join(parts), took


class AiohttpOrjsonLoop(AiohttpLoop):
    key, label = "aiohttp-orjson", "plain aiohttp readline + orjson.loads"

    def __init__(self, base: str) -> None:
        super().__init__(base)
        import orjson

        self.loads = orjson.loads


class AiohttpNativeLoop(AiohttpLoop):
    key, label, route = "aiohttp-native", "plain aiohttp readline + json.loads (native)", "native"

    async def _run(self, session: Any, n: int, t0: float | None) -> tuple[str, float]:
        loads = self.loads
        parts = []
        took = 0.0
        body = {"model": self.model(n), "messages": MESSAGES, "stream": True}
        async with session.post(self.base + "/api/chat", json=body) as resp:
            resp.raise_for_status()
            async for line in resp.content:
                obj = loads(line)
                content = obj["message"]["content"]
                if content:
                    if t0 is not None and not took:
                        took = time.perf_counter() - t0
                    parts.append(content)
                if obj["done"]:
                    continue  # read on to the end: the connection goes back to the pool
        return "".join(parts), took


class HttpxLoop(Pooled):
    key, label, route = "httpx", "plain httpx aiter_lines + json.loads", "sse"

    def _make(self) -> Any:
        import httpx

        return httpx.AsyncClient(timeout=60)

    async def _dispose(self, client: Any) -> None:
        await client.aclose()

    async def _run(self, client: Any, n: int, t0: float | None) -> tuple[str, float]:
        parts = []
        took = 0.0
        body = {"model": self.model(n), **_SSE_BODY}
        loads = json.loads
        async with client.stream("POST", self.base + "/v1/chat/completions", json=body) as resp:
            resp.raise_for_status()
            async for line in resp.aiter_lines():
                if line.startswith("data: "):
                    payload = line[6:]
                    if payload == "[DONE]":
                        continue  # read on to the end: the connection goes back to the pool
                    choices = loads(payload)["choices"]
                    if choices:
                        content = choices[0]["delta"].get("content")
                        if content:
                            if t0 is not None and not took:
                                took = time.perf_counter() - t0
                            parts.append(content)
        return "".join(parts), took


IN_PROCESS: list[type[Client]] = [
    LibrarySSE,
    LibraryNative,
    LibrarySync,
    AiohttpLoop,
    AiohttpOrjsonLoop,
    AiohttpNativeLoop,
    HttpxLoop,
]


async def settle() -> None:
    """Let closed connections finish closing before the next measurement."""
    await asyncio.sleep(0.01)
