"""The vendor SDK clients: ollama-python and openai-python, used the way their docs show."""

from __future__ import annotations

import time
from typing import Any

from bench.clients import IN_PROCESS, Client, Pooled
from bench.common import MESSAGES


class OllamaPython(Pooled):
    key, label, route = "ollama-python", "ollama-python AsyncClient.chat(stream=True)", "native"

    def _make(self) -> Any:
        import ollama

        return ollama.AsyncClient(host=self.base)

    async def _dispose(self, client: Any) -> None:
        await client._client.aclose()

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


class OpenaiPython(Pooled):
    key, label, route = "openai-python", "openai-python AsyncOpenAI stream=True", "sse"

    def _make(self) -> Any:
        import openai

        return openai.AsyncOpenAI(base_url=self.base + "/v1", api_key="bench", max_retries=0)

    async def _dispose(self, client: Any) -> None:
        await client.close()

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


ALL_CLIENTS: list[type[Client]] = [*IN_PROCESS, OllamaPython, OpenaiPython]
"""Every client that runs in the benchmark's own process (gpt4free runs in its own venv)."""
