"""The vendor SDK clients: ollama-python and openai-python, used the way their docs show."""

from __future__ import annotations

import time
from typing import Any

from bench.clients import IN_PROCESS, Client
from bench.common import MESSAGES


class OllamaPython(Client):
    key, label, route = "ollama-python", "ollama-python AsyncClient.chat(stream=True)", "native"

    async def open(self) -> None:
        import ollama

        self.client = ollama.AsyncClient(host=self.base)

    async def _run(self, client: Any, n: int, t0: float | None) -> tuple[str, float]:
        parts = []
        took = 0.0
        async for part in await client.chat(self.model(n), MESSAGES, stream=True):
            content = part.message.content
            if content:
                if t0 is not None and not took:
                    took = time.perf_counter() - t0
                parts.append(content)
        return "".join(parts), took

    async def stream(self, n: int) -> str:
        parts = []
        async for part in await self.client.chat(self.model(n), MESSAGES, stream=True):
            content = part.message.content
            if content:
                parts.append(content)
        return "".join(parts)

    async def first(self, n: int) -> float:
        return (await self._run(self.client, n, time.perf_counter()))[1]

    async def cold_first(self, n: int) -> float:
        import ollama

        t0 = time.perf_counter()
        client = ollama.AsyncClient(host=self.base)
        try:
            return (await self._run(client, n, t0))[1]
        finally:
            await client._client.aclose()


class OpenaiPython(Client):
    key, label, route = "openai-python", "openai-python AsyncOpenAI stream=True", "sse"

    def _client(self) -> Any:
        import openai

        return openai.AsyncOpenAI(base_url=self.base + "/v1", api_key="bench", max_retries=0)

    async def open(self) -> None:
        self.client = self._client()

    async def close(self) -> None:
        await self.client.close()

    async def _run(self, client: Any, n: int, t0: float | None) -> tuple[str, float]:
        parts = []
        took = 0.0
        stream = await client.chat.completions.create(
            model=self.model(n),
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.choices:
                content = chunk.choices[0].delta.content
                if content:
                    if t0 is not None and not took:
                        took = time.perf_counter() - t0
                    parts.append(content)
        return "".join(parts), took

    async def stream(self, n: int) -> str:
        return (await self._run(self.client, n, None))[0]

    async def first(self, n: int) -> float:
        return (await self._run(self.client, n, time.perf_counter()))[1]

    async def cold_first(self, n: int) -> float:
        t0 = time.perf_counter()
        client = self._client()
        try:
            return (await self._run(client, n, t0))[1]
        finally:
            await client.close()


ALL_CLIENTS: list[type[Client]] = [*IN_PROCESS, OllamaPython, OpenaiPython]
"""Every client that runs in the benchmark's own process (gpt4free runs in its own venv)."""
