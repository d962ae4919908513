"""The OpenAI-shaped client: attribute names as openai-python's, sync and async alike."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

from ollama_provider import AsyncClient, Client, OpenaiAPI, ProviderError
from tests.conftest import run
from tests.support.fake_ollama import FakeOllama

HI = [{"role": "user", "content": "say: Hi there"}]


class Weather(pydantic.BaseModel):
    city: str
    degrees: int


def test_create_returns_a_chat_completion(fake_ollama: FakeOllama) -> None:
    client = Client(api_base=fake_ollama.url)
    completion = client.chat.completions.create(model="llama3.2", messages=HI)
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.model == "llama3.2" and completion.created > 0
    choice = completion.choices[0]
    assert choice.message.content == "Hi there" and choice.message.role == "assistant"
    assert choice.finish_reason == "stop" and choice.message.tool_calls is None
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (13, 2)
    assert completion.model_dump()["choices"][0]["message"]["content"] == "Hi there"
    assert fake_ollama.last_body("/v1/chat/completions")["stream"] is False


def test_stream_gives_chunks(fake_ollama: FakeOllama) -> None:
    client = Client(api_base=fake_ollama.url)
    chunks = list(client.chat.completions.create(model="qwen3:0.6b", messages=HI, stream=True))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    thinking = "".join(c.choices[0].delta.reasoning or "" for c in chunks if c.choices)
    assert (text, thinking) == ("Hi there", "Let me think about that.")
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_final_message_merges_reasoning_and_tool_calls(fake_ollama: FakeOllama) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    messages = [{"role": "user", "content": 'call: get_weather {"city": "Rome"}'}]
    completion = Client(api_base=fake_ollama.url).chat.completions.create(
        model="qwen3:0.6b", messages=messages, tools=tools
    )
    message = completion.choices[0].message
    assert message.reasoning == "Let me think about that." == message.reasoning_content
    assert message.content is None
    assert message.tool_calls is not None and len(message.tool_calls) == 1
    tool_call = message.tool_calls[0]
    assert tool_call.type == "function" and tool_call.function.name == "get_weather"
    assert json.loads(tool_call.function.arguments) == {"city": "Rome"}
    assert completion.choices[0].finish_reason == "tool_calls"


def test_pydantic_response_format_is_parsed(fake_ollama: FakeOllama) -> None:
    completion = Client(api_base=fake_ollama.url).chat.completions.create(
        model="llama3.2", messages=HI, response_format=Weather
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Weather)
    sent = fake_ollama.last_body("/v1/chat/completions")["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "Weather"
    assert sent["json_schema"]["schema"] == Weather.model_json_schema()


def test_schema_dict_response_format_is_parsed(fake_ollama: FakeOllama) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    completion = Client(api_base=fake_ollama.url).chat.completions.create(
        model="llama3.2", messages=HI, response_format=schema
    )
    assert completion.choices[0].message.parsed == {"ok": False}  # the fake's minimal instance


def test_parse_failure_is_an_error_not_silence(fake_ollama: FakeOllama) -> None:
    fake_ollama.server.add_fault("/v1/chat/completions", _not_json_answer())
    with pytest.raises(ProviderError, match="does not match the requested response_format"):
        Client(api_base=fake_ollama.url).chat.completions.create(
            model="llama3.2", messages=HI, response_format=Weather
        )


def _not_json_answer() -> Any:
    from tests.support import faults

    body = {
        "id": "x",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "sunny"},
                "finish_reason": "stop",
            }
        ],
    }
    return faults.status(200, json.dumps(body).encode())


def test_models_list(fake_ollama: FakeOllama) -> None:
    page = Client(api_base=fake_ollama.url).models.list()
    assert [m.id for m in page] == [m.name for m in fake_ollama.installed()]
    assert page.data[0].object == "model"


def test_async_client(fake_ollama: FakeOllama) -> None:
    async def main() -> tuple[str, str, list[str]]:
        client = AsyncClient(api_base=fake_ollama.url)
        whole = await client.chat.completions.create(model="", messages=HI)
        stream = await client.chat.completions.create(model="llama3.2", messages=HI, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        models = [m.id for m in await client.models.list()]
        return whole.choices[0].message.content or "", text, models

    whole, streamed, models = run(main())
    assert whole == streamed == "Hi there"
    assert models[0] == fake_ollama.installed()[0].name


def test_any_provider_and_api_key(fake_ollama: FakeOllama) -> None:
    client = Client(provider=OpenaiAPI, api_base=fake_ollama.url + "/v1", api_key="sk-abc12345")
    completion = client.chat.completions.create(model="llama3.2", messages=HI)
    assert completion.choices[0].message.content == "Hi there"
    assert fake_ollama.server.requests[-1].headers["Authorization"] == "Bearer sk-abc12345"
    assert "sk-abc12345" not in repr(client)
