"""The library against a real inference server: llama.cpp's llama-server with SmolLM2-135M."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import aiohttp
import jsonschema
import pydantic

from ollama_provider import (
    Client,
    FinishReason,
    Ollama,
    OpenaiAPI,
    ToolCalls,
    Usage,
    run_tool_calls,
)
from tests.conftest import run

MODEL = "smollm2:135m"
ASK = [{"role": "user", "content": "Write one sentence about the sea."}]


async def collect(base: str, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("messages", ASK)
    return [i async for i in Ollama.create_async_generator(MODEL, api_base=base, **kwargs)]


def text_of(items: list[Any]) -> str:
    return "".join(map(str, items))


def test_models_via_the_v1_fallback(llama: Any) -> None:
    assert Ollama.get_models(api_base=llama.base_url) == [MODEL]
    assert Ollama.default_model == MODEL


def test_real_tokens_with_length_limit(llama: Any) -> None:
    items = run(collect(llama.base_url, max_tokens=12, temperature=0))
    assert text_of(items).strip()
    assert FinishReason("length") in items
    usage = [i for i in items if isinstance(i, Usage)]
    assert len(usage) == 1 and usage[0].completion_tokens == 12
    assert usage[0].total_tokens == usage[0].prompt_tokens + 12


def test_stop_sequence_ends_the_text_early(llama: Any) -> None:
    free = text_of(run(collect(llama.base_url, max_tokens=40, temperature=0, seed=1)))
    words = free.split()
    assert len(words) >= 4, free
    stop = " " + words[3]
    items = run(collect(llama.base_url, max_tokens=40, temperature=0, seed=1, stop=[stop]))
    assert text_of(items) == free[: free.index(stop)]
    assert FinishReason("stop") in items


def test_json_schema_response_format(llama: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}
    messages = [{"role": "user", "content": "Invent a person. Answer in JSON."}]
    items = run(collect(llama.base_url, messages=messages, response_format=fmt, max_tokens=100))
    value = json.loads(text_of(items))
    jsonschema.validate(value, schema)


def get_weather(city: str) -> str:
    """Weather for a city.

    Args:
        city: The city's name.
    """
    return f"Sunny in {city}"


def test_tool_call_fragments_from_a_real_server(llama: Any) -> None:
    tools = [get_weather]  # a plain function: its schema comes from the signature
    # SmolLM2-135M does not decide to call tools by itself; an assistant prefill that
    # opens the call makes llama.cpp constrain the rest to its tool-call grammar.
    prompt = (
        'Repeat exactly: <tool_call>\n{"name": "get_weather", "arguments": '
        '{"city": "Paris"}}\n</tool_call>'
    )
    messages = [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": "<tool_call>\n"},
    ]
    items = run(
        collect(llama.base_url, messages=messages, tools=tools, temperature=0, max_tokens=60)
    )
    calls = [i for i in items if isinstance(i, ToolCalls)]
    assert len(calls) == 1, items
    (call,) = calls[0].calls
    assert call["type"] == "function" and call["id"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert items.index(calls[0]) < items.index(FinishReason("tool_calls"))
    followup = run_tool_calls(calls[0], tools, messages[:1])
    assert followup[-1]["content"] == "Sunny in Paris"


class Person(pydantic.BaseModel):
    name: str
    age: int


def test_structured_output_through_the_client(llama: Any) -> None:
    client = Client(api_base=llama.base_url)
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Invent a person."}],
        response_format=Person,
        max_tokens=100,
    )
    assert isinstance(completion.choices[0].message.parsed, Person)
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_six_concurrent_streams_complete(llama: Any) -> None:
    async def six() -> list[list[Any]]:
        return await asyncio.gather(*(collect(llama.base_url, max_tokens=20) for _ in range(6)))

    for items in run(six()):
        assert any(isinstance(i, FinishReason) for i in items)
        assert text_of(items).strip()


def test_leaving_streams_early_frees_the_server(llama: Any) -> None:
    async def abandon_then_ask() -> float:
        streams = [
            Ollama.create_async_generator(MODEL, ASK, api_base=llama.base_url, max_tokens=3000)
            for _ in range(8)
        ]
        await asyncio.gather(*(s.__anext__() for s in streams))  # 8 > the server's 4 slots
        for stream in streams:
            await stream.aclose()  # type: ignore[attr-defined]
        started = time.monotonic()
        items = await collect(llama.base_url, max_tokens=8)
        assert any(isinstance(i, FinishReason) for i in items)
        return time.monotonic() - started

    assert run(abandon_then_ask()) < 5.0


def test_openai_api_and_sync_completion(llama: Any) -> None:
    assert OpenaiAPI.get_models(api_base=llama.base_url) == [MODEL]
    items = list(OpenaiAPI.create_completion(MODEL, ASK, api_base=llama.base_url, max_tokens=10))
    assert text_of(items).strip() and FinishReason("length") in items
    sync = list(
        Ollama.create_completion(MODEL, ASK, api_base=llama.base_url, max_tokens=10, stream=False)
    )
    assert text_of(sync).strip() and FinishReason("length") in sync


async def plain_loop(base: str, max_tokens: int) -> int:
    body = {
        "model": MODEL,
        "messages": ASK,
        "stream": True,
        "max_tokens": max_tokens,
        "stream_options": {"include_usage": True},
    }
    tokens = 0
    async with (
        aiohttp.ClientSession() as session,
        session.post(base + "/chat/completions", json=body) as resp,
    ):
        async for line in resp.content:
            if line.startswith(b"data: {"):
                usage = json.loads(line[6:]).get("usage")
                if usage:
                    tokens = usage["completion_tokens"]
    return tokens


async def library(base: str, max_tokens: int) -> int:
    items = await collect(base, max_tokens=max_tokens)
    return next(i.completion_tokens for i in items if isinstance(i, Usage))


def test_throughput_matches_a_plain_http_loop(llama: Any) -> None:
    """Loosely asserted here; bench/ reports the precise ratio."""
    rates: dict[str, list[float]] = {"plain": [], "library": []}

    async def measure() -> None:
        for _ in range(3):
            for name, fn in (("plain", plain_loop), ("library", library)):
                started = time.perf_counter()
                tokens = await fn(llama.base_url, 64)
                rates[name].append(tokens / (time.perf_counter() - started))

    run(measure())
    ratio = statistics.median(rates["library"]) / statistics.median(rates["plain"])
    assert ratio > 0.8, rates
