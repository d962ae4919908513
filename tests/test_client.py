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


# -- code written for openai-python ports unchanged ------------------------------------------


def test_base_url_talks_to_that_openai_base(fake_ollama: FakeOllama) -> None:
    client = Client(base_url=fake_ollama.url + "/v1", api_key="sk-port-123456")
    assert client.provider is OpenaiAPI and client.base_url == fake_ollama.url + "/v1"
    completion = client.chat.completions.create(model="llama3.2", messages=HI)
    assert completion.choices[0].message.content == "Hi there"
    request = fake_ollama.server.requests[-1]
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-port-123456"
    assert next(m.id for m in client.models.list()) == fake_ollama.installed()[0].name


def test_openai_environment_is_read_for_the_openai_provider(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_ollama.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-1234")
    client = Client(provider=OpenaiAPI)
    client.chat.completions.create(model="llama3.2", messages=HI)
    assert fake_ollama.server.requests[-1].headers["Authorization"] == "Bearer sk-from-env-1234"


def test_the_usual_tool_loop_appends_the_message_object(fake_ollama: FakeOllama) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    messages: list[Any] = [{"role": "user", "content": 'call: get_weather {"city": "Rome"}'}]
    client = Client(api_base=fake_ollama.url)
    first = client.chat.completions.create(model="llama3.2", messages=messages, tools=tools)
    message = first.choices[0].message
    messages.append(message)  # the object itself, as openai-python code does
    call = message.tool_calls[0]  # type: ignore[index]
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "22 degrees"})
    second = client.chat.completions.create(model="llama3.2", messages=messages, tools=tools)
    assert second.choices[0].message.content
    sent = fake_ollama.last_body("/v1/chat/completions")["messages"][1]
    assert sent["role"] == "assistant" and sent["tool_calls"][0]["id"] == call.id
    assert "parsed" not in sent and "refusal" not in sent


def test_a_pydantic_message_goes_into_messages_through_model_dump(fake_ollama: FakeOllama) -> None:
    class Message(pydantic.BaseModel):
        role: str
        content: str
        name: str | None = None

    client = Client(api_base=fake_ollama.url)
    client.chat.completions.create(
        model="llama3.2", messages=[Message(role="user", content="say: ok")]
    )
    assert fake_ollama.last_body("/v1/chat/completions")["messages"] == [
        {"role": "user", "content": "say: ok"}
    ]


def test_parse_gives_the_parsed_instance(fake_ollama: FakeOllama) -> None:
    completion = Client(api_base=fake_ollama.url).chat.completions.parse(
        model="llama3.2", messages=HI, response_format=Weather
    )
    assert isinstance(completion.choices[0].message.parsed, Weather)


def test_a_structured_answer_cut_by_the_limit_says_so(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ProviderError) as info:
        Client(api_base=fake_ollama.url).chat.completions.create(
            model="llama3.2", messages=HI, response_format=Weather, max_tokens=3
        )
    assert "cut by the token limit" in str(info.value)
    assert "max_tokens" in info.value.advice


def test_a_stream_is_a_context_manager(fake_ollama: FakeOllama) -> None:
    client = Client(api_base=fake_ollama.url)
    with client.chat.completions.create(
        model="llama3.2", messages=[{"role": "user", "content": "say: " + "w " * 500}], stream=True
    ) as stream:
        first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    assert fake_ollama.server.wait_until_connections(0, timeout=30)  # closed on leaving


def test_an_async_stream_is_a_context_manager(fake_ollama: FakeOllama) -> None:
    async def main() -> str:
        client = AsyncClient(api_base=fake_ollama.url)
        stream = await client.chat.completions.create(model="llama3.2", messages=HI, stream=True)
        async with stream as chunks:
            text = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
        return text

    assert run(main()) == "Hi there"


def test_results_dump_as_openai_python_s_do(fake_ollama: FakeOllama) -> None:
    completion = Client(api_base=fake_ollama.url).chat.completions.create(
        model="llama3.2", messages=HI
    )
    data = json.loads(completion.model_dump_json())
    assert data["choices"][0]["message"]["content"] == "Hi there"
    assert data == completion.model_dump()
    compact = completion.to_dict()
    assert "tool_calls" not in compact["choices"][0]["message"]  # None fields left out
    assert json.loads(completion.to_json()) == compact


def test_format_takes_a_pydantic_model_on_the_native_route(fake_ollama: FakeOllama) -> None:
    from ollama_provider import Ollama

    list(Ollama.create_completion("llama3.2", HI, fake_ollama.url, format=Weather))
    assert fake_ollama.last_body("/api/chat")["format"] == Weather.model_json_schema()


def test_a_bad_keyword_names_the_method_called_and_the_fix() -> None:
    from ollama_provider import Ollama

    with pytest.raises(TypeError) as info:
        Ollama.create_completion("m", HI, num_ctx=8192)
    assert str(info.value).startswith("create_completion() got unexpected keyword")
    assert "options={'num_ctx': ...}" in str(info.value)
    with pytest.raises(TypeError, match=r"did you mean 'temperature'\?\)\Z"):
        Ollama.create_async_generator("m", HI, temprature=0.1)
