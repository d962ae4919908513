"""The Ollama provider against the faithful fake server, over real loopback sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from ollama_provider import (
    FinishReason,
    ModelNotFoundError,
    Ollama,
    ProviderTimeoutError,
    Reasoning,
    ResponseStatusError,
    StreamInterruptedError,
    ToolCalls,
    Usage,
)
from tests.conftest import run
from tests.support import faults
from tests.support.fake_ollama import FakeOllama
from tests.support.httpserver import HTTPServer

HELLO = "Hello! How can I help you today?"
USER = [{"role": "user", "content": "Hi there"}]


async def collect(**kwargs: Any) -> list[Any]:
    return [item async for item in Ollama.create_async_generator(**kwargs)]


def chat(ollama: FakeOllama, model: str = "llama3.2", messages: Any = USER, **kw: Any) -> list[Any]:
    return run(collect(model=model, messages=messages, api_base=ollama.url + "/v1", **kw))


def text_of(items: list[Any]) -> str:
    return "".join(map(str, items))


# -- models -----------------------------------------------------------------------------


def test_get_models_in_server_order_sets_default(fake_ollama: FakeOllama) -> None:
    names = [m.name for m in fake_ollama.installed()]
    assert Ollama.get_models(api_base=fake_ollama.url + "/v1") == names
    assert Ollama.models == names
    assert Ollama.default_model == names[0]


def test_get_models_is_cached_per_server_and_refreshable(fake_ollama: FakeOllama) -> None:
    base = fake_ollama.url
    first = Ollama.get_models(api_base=base)
    assert Ollama.get_models(api_base=base + "/v1") == first
    assert fake_ollama.count("/api/tags") == 1
    Ollama.get_models(api_base=base, refresh=True)
    assert fake_ollama.count("/api/tags") == 2


def test_failures_are_not_cached(fake_ollama: FakeOllama) -> None:
    fake_ollama.server.add_fault("/api/tags", faults.status(500, b'{"error":"busy"}'))
    with pytest.raises(ResponseStatusError) as info:
        Ollama.get_models(api_base=fake_ollama.url)
    assert info.value.status == 500 and info.value.server_message == "busy"
    assert Ollama.get_models(api_base=fake_ollama.url)  # fetched again, now it works


def test_no_models_installed_is_not_a_crash(fake_ollama: FakeOllama) -> None:
    fake_ollama.models = []
    assert Ollama.get_models(api_base=fake_ollama.url) == []
    assert Ollama.default_model == ""


def test_tags_404_falls_back_to_v1_models(httpserver: HTTPServer) -> None:
    models = {"object": "list", "data": [{"id": "smollm2:135m", "object": "model"}]}
    httpserver.add_fault(
        "/api/tags", faults.status(404, b"404 page not found", "text/plain"), times=None
    )
    httpserver.add_fault("/v1/models", faults.status(200, json.dumps(models).encode()))
    assert Ollama.get_models(api_base=httpserver.url + "/v1") == ["smollm2:135m"]
    assert Ollama.default_model == "smollm2:135m"


def test_v1_models_null_data_means_none(httpserver: HTTPServer) -> None:
    httpserver.add_fault(
        "/api/tags", faults.status(404, b"404 page not found", "text/plain"), times=None
    )
    httpserver.add_fault("/v1/models", faults.status(200, b'{"object":"list","data":null}'))
    assert Ollama.get_models(api_base=httpserver.url) == []


def test_host_from_environment(fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch) -> None:
    port = fake_ollama.server.port
    monkeypatch.setenv("OLLAMA_HOST", f"0.0.0.0:{port}")  # bind-all becomes loopback
    assert Ollama.get_models()[0] == fake_ollama.installed()[0].name
    monkeypatch.setenv("OLLAMA_HOST", " 'localhost' ")
    monkeypatch.setenv("OLLAMA_PORT", str(port))
    assert text_of(run(collect(model="llama3.2", messages=USER))) == HELLO


def test_path_prefix_is_kept() -> None:
    with FakeOllama(path_prefix="/ollama") as ollama:
        assert ollama.url.endswith("/ollama")
        assert Ollama.get_models(api_base=ollama.url + "/v1")
        assert text_of(chat(ollama)) == HELLO
        assert {r.path for r in ollama.server.requests} == {
            "/ollama/api/tags",
            "/ollama/v1/chat/completions",
        }


# -- streaming ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.11.0", "0.32.5", "0.32.6", "0.33.0"])
def test_every_release_shape_gives_the_same_events(fake_ollama: FakeOllama, version: str) -> None:
    fake_ollama.version = version
    items = chat(fake_ollama)
    assert text_of(items) == HELLO
    assert all(isinstance(i, str) for i in items[:-2])
    assert items[-2] == FinishReason("stop")
    assert items[-1] == Usage(12, 7, 19)


def test_request_body_passes_parameters_through(fake_ollama: FakeOllama) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    chat(
        fake_ollama,
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        stop=["\n\n"],
        seed=7,
        tools=tools,
        tool_choice="auto",
        response_format={"type": "json_object"},
        reasoning_effort="none",
        extra_body={"user": "u1", "top_k": 5},
        headers={"X-Trace": "abc"},
        api_key="sk-test-1234",
    )
    body = fake_ollama.last_body("/v1/chat/completions")
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    for key, value in {
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 50,
        "stop": ["\n\n"],
        "seed": 7,
        "tools": tools,
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "reasoning_effort": "none",
        "user": "u1",
        "top_k": 5,
    }.items():
        assert body[key] == value, key
    headers = fake_ollama.server.requests[-1].headers
    assert headers["Authorization"] == "Bearer sk-test-1234"
    assert headers["X-Trace"] == "abc"


def test_unknown_parameter_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match=r"'temprature' \(did you mean 'temperature'\?\)"):
        Ollama.create_async_generator("m", USER, temprature=1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: Ollama.get_models(api_base="http://127.0.0.1:9", timout=1),
        lambda: Ollama.embed("m", "x", api_base="http://127.0.0.1:9", timout=1),
        lambda: Ollama.generate("m", "x", api_base="http://127.0.0.1:9", timout=1),
        lambda: Ollama.list_models("http://127.0.0.1:9", timout=1),
        lambda: Ollama.web_search("q", api_key="k", timout=1),
        lambda: Ollama.ps("http://127.0.0.1:9", timout=1),
        lambda: anext(Ollama.pull("m", "http://127.0.0.1:9", timout=1)),
    ],
    ids=["get_models", "embed", "generate", "list_models", "web_search", "ps", "pull"],
)
def test_a_misspelled_request_option_is_named_before_any_request(call: Any) -> None:
    # port 9 (discard) would refuse: a request would raise a connection error instead
    with pytest.raises(TypeError, match=r"'timout' \(did you mean 'timeout'\?\)"):
        result = call()
        if asyncio.iscoroutine(result):
            run(result)


def test_reasoning_arrives_as_events(fake_ollama: FakeOllama) -> None:
    items = chat(fake_ollama, model="qwen3:0.6b")
    reasoning = [i.text for i in items if isinstance(i, Reasoning)]
    assert "".join(reasoning) == "Let me think about that."
    first_text = next(n for n, i in enumerate(items) if isinstance(i, str))
    assert all(isinstance(i, Reasoning) for i in items[:first_text])
    assert text_of(items) == HELLO


def test_tool_calls_arrive_whole_before_the_finish(fake_ollama: FakeOllama) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    messages = [{"role": "user", "content": 'call: get_weather {"city": "Tokyo"}'}]
    items = chat(fake_ollama, messages=messages, tools=tools)
    calls = [i for i in items if isinstance(i, ToolCalls)]
    assert len(calls) == 1 and len(calls[0].calls) == 1
    call = calls[0].calls[0]
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Tokyo"}
    assert items.index(calls[0]) < items.index(FinishReason("tool_calls"))


def test_max_tokens_and_stop(fake_ollama: FakeOllama) -> None:
    items = chat(fake_ollama, max_tokens=3)
    assert text_of(items) == "Hello! How can "
    assert FinishReason("length") in items
    items = chat(fake_ollama, stop=["help"])
    assert text_of(items) == "Hello! How can I "
    assert FinishReason("stop") in items


def test_stream_false_gives_the_same_events(fake_ollama: FakeOllama) -> None:
    streamed = chat(fake_ollama)
    whole = chat(fake_ollama, stream=False)
    assert text_of(whole) == text_of(streamed)
    assert whole[-2:] == streamed[-2:]
    assert fake_ollama.last_body("/v1/chat/completions")["stream"] is False


def test_empty_model_means_the_default(fake_ollama: FakeOllama) -> None:
    assert text_of(chat(fake_ollama, model="")) == HELLO
    assert fake_ollama.last_body("/v1/chat/completions")["model"] == fake_ollama.installed()[0].name


def test_empty_model_with_none_installed_says_to_pull(fake_ollama: FakeOllama) -> None:
    fake_ollama.models = []
    with pytest.raises(ModelNotFoundError, match="pull"):
        chat(fake_ollama, model="")


def test_native_options_route_to_api_chat(fake_ollama: FakeOllama) -> None:
    items = chat(fake_ollama, keep_alive="10m", options={"num_ctx": 4096}, temperature=0.1)
    assert text_of(items) == HELLO
    body = fake_ollama.last_body("/api/chat")
    assert body["keep_alive"] == "10m"
    assert body["options"] == {"num_ctx": 4096, "temperature": 0.1}
    assert items[-2:] == [FinishReason("stop"), Usage(12, 7, 19)]
    assert fake_ollama.count("/v1/chat/completions") == 0


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.11.0", "0.33.0"])
@pytest.mark.parametrize("native", [False, True])
def test_missing_model_in_both_message_forms(
    fake_ollama: FakeOllama, version: str, native: bool
) -> None:
    fake_ollama.version = version
    extra = {"keep_alive": "5m"} if native else {}
    with pytest.raises(ModelNotFoundError) as info:
        chat(fake_ollama, model="nosuch", **extra)
    error = info.value
    assert error.model == "nosuch" and error.status == 404
    assert error.available == [m.name for m in fake_ollama.installed()]
    assert "ollama pull nosuch" in str(error)
    assert "nosuch" in error.server_message


def test_server_400_keeps_its_words(fake_ollama: FakeOllama) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    with pytest.raises(ResponseStatusError) as info:
        chat(fake_ollama, model="llava:7b", tools=tools)
    assert info.value.status == 400
    assert "does not support tools" in info.value.server_message
    assert "does not support tools" in str(info.value)


@pytest.mark.parametrize("native", [False, True])
def test_stream_cut_mid_way_keeps_the_exact_partial(fake_ollama: FakeOllama, native: bool) -> None:
    fake_ollama.fail_after = 3
    extra = {"keep_alive": "5m"} if native else {}
    received: list[Any] = []

    async def consume() -> None:
        async for item in Ollama.create_async_generator(
            "llama3.2", USER, api_base=fake_ollama.url, **extra
        ):
            received.append(item)

    with pytest.raises(StreamInterruptedError) as info:
        run(consume())
    assert info.value.partial == "Hello! How can "
    assert info.value.partial == text_of(received)


def test_first_byte_timeout(fake_ollama: FakeOllama) -> None:
    fake_ollama.first_byte_delay = 3.0
    with pytest.raises(ProviderTimeoutError) as info:
        chat(fake_ollama, timeout=0.3)
    assert info.value.phase == "first byte" and isinstance(info.value, TimeoutError)
    assert info.value.partial == ""


def test_between_chunks_timeout_keeps_the_text(fake_ollama: FakeOllama) -> None:
    fake_ollama.token_delay = 0.05
    fake_ollama.server.add_fault(
        "/v1/chat/completions",
        faults.stream_then_stall(
            [
                b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n',
                b'data: {"choices":[{"index":0,"delta":{"content":"lo"}}]}\n\n',
            ]
        ),
    )
    with pytest.raises(ProviderTimeoutError) as info:
        chat(fake_ollama, timeout=0.5)
    assert info.value.phase == "between chunks"
    assert info.value.partial == "Hello"


# -- connections ------------------------------------------------------------------------------


def test_second_request_reuses_the_connection(fake_ollama: FakeOllama) -> None:
    async def two() -> None:
        for _ in range(2):
            await collect(model="llama3.2", messages=USER, api_base=fake_ollama.url)

    run(two())
    assert fake_ollama.server.total_connections == 1


def test_leaving_early_closes_the_stream(fake_ollama: FakeOllama) -> None:
    fake_ollama.token_delay = 0.2

    async def leave() -> None:
        stream = Ollama.create_async_generator("llama3.2", USER, api_base=fake_ollama.url)
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
        assert await fake_ollama.server.await_connections(0, timeout=5)

    run(leave())


def test_sync_completion_gives_the_same_items(fake_ollama: FakeOllama) -> None:
    items = list(Ollama.create_completion("llama3.2", USER, api_base=fake_ollama.url))
    assert items == chat(fake_ollama)
    assert text_of(items) == HELLO


def test_sync_api_inside_a_running_loop(fake_ollama: FakeOllama) -> None:
    async def inside() -> str:
        names = Ollama.get_models(api_base=fake_ollama.url)  # as in a Jupyter cell
        text = text_of(list(Ollama.create_completion(names[0], USER, api_base=fake_ollama.url)))
        return text

    assert run(inside()) == HELLO


def test_repeated_asyncio_run(fake_ollama: FakeOllama) -> None:
    for _ in range(3):
        assert text_of(chat(fake_ollama)) == HELLO


def test_credentials_in_ollama_host(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_ollama.auth = ("alice", "s3cr3t-pass")
    monkeypatch.setenv(
        "OLLAMA_HOST", f"http://alice:s3cr3t-pass@127.0.0.1:{fake_ollama.server.port}"
    )
    assert text_of(run(collect(model="llama3.2", messages=USER))) == HELLO
    monkeypatch.setenv(
        "OLLAMA_HOST", f"http://alice:wrong-pass@127.0.0.1:{fake_ollama.server.port}"
    )
    with pytest.raises(ResponseStatusError) as info:
        run(collect(model="llama3.2", messages=USER))
    assert info.value.status == 401
    assert "wrong-pass" not in str(info.value) and "wrong-pass" not in repr(info.value)
    assert info.value.url is not None and "alice" not in info.value.url


def test_gather_many_streams(fake_ollama: FakeOllama) -> None:
    async def many() -> list[str]:
        streams = [
            collect(model="llama3.2", messages=USER, api_base=fake_ollama.url) for _ in range(20)
        ]
        return [text_of(items) for items in await asyncio.gather(*streams)]

    assert run(many()) == [HELLO] * 20


def test_an_unknown_parameter_with_no_near_name_points_to_extra_body() -> None:
    with pytest.raises(TypeError, match=r"'zzz_flag'; put other fields .* extra_body"):
        Ollama.create_async_generator("m", USER, zzz_flag=1)
