"""OpenaiAPI against an OpenAI-compatible server (the fake Ollama's /v1), and error mapping."""

from __future__ import annotations

from typing import Any

import pytest

from ollama_provider import (
    FinishReason,
    ModelNotFoundError,
    Ollama,
    OpenaiAPI,
    ResponseStatusError,
    ServerUnreachableError,
)
from tests.conftest import run
from tests.support import faults
from tests.support.fake_ollama import FakeOllama
from tests.support.httpserver import HTTPServer

USER = [{"role": "user", "content": "say: Bonjour tout le monde"}]


def test_class_attributes() -> None:
    assert (Ollama.label, Ollama.url, Ollama.login_url) == ("Ollama", "https://ollama.com", None)
    assert (Ollama.needs_auth, Ollama.working) == (False, True)
    assert isinstance(Ollama.models, list) and isinstance(Ollama.default_model, str)
    assert issubclass(Ollama, OpenaiAPI)
    assert OpenaiAPI.label == "OpenAI API" and OpenaiAPI.needs_auth is True
    assert OpenaiAPI.api_base == "https://api.openai.com/v1"


def test_openai_api_models_and_chat(fake_ollama: FakeOllama) -> None:
    base = fake_ollama.url + "/v1"
    models = OpenaiAPI.get_models(api_base=base, api_key="sk-x")
    assert models == [m.name for m in fake_ollama.installed()]
    assert OpenaiAPI.default_model == models[0]
    assert Ollama.models == []  # each provider class keeps its own list
    items = list(OpenaiAPI.create_completion("llama3.2", USER, api_base=base, api_key="sk-x"))
    assert "".join(map(str, items)) == "Bonjour tout le monde"
    assert FinishReason("stop") in items
    assert fake_ollama.server.requests[-1].path == "/v1/chat/completions"


def test_openai_api_missing_model(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        list(OpenaiAPI.create_completion("gpt-9", USER, api_base=fake_ollama.url + "/v1"))
    assert info.value.model == "gpt-9"
    assert "llama3.2:latest" in info.value.available


def test_create_async_generator_returns_without_await() -> None:
    stream = Ollama.create_async_generator("llama3.2", USER, api_base="http://127.0.0.1:9/v1")
    assert hasattr(stream, "__anext__") and hasattr(stream, "aclose")
    run(stream.aclose())  # type: ignore[attr-defined]  # never started: no request made


@pytest.mark.parametrize(
    ("status", "body", "content_type", "words"),
    [
        (
            500,
            b"<html><head><title>500 Internal Server Error</title></head></html>",
            "text/html",
            "500 Internal Server Error",
        ),
        (
            502,
            b"<html><body><center><h1>502 Bad Gateway</h1></center><hr>nginx</body></html>",
            "text/html",
            "502 Bad Gateway nginx",
        ),
        (
            400,
            b'{"error":{"message":"messages is required","type":"invalid_request_error"}}',
            "application/json",
            "messages is required",
        ),
        (400, b'{"error":"invalid options: foo"}', "application/json", "invalid options: foo"),
        (
            503,
            b'{"error":{"message":"Loading model","type":"unavailable_error","code":503}}',
            "application/json",
            "Loading model",
        ),
    ],
)
def test_status_errors_keep_the_servers_words(
    httpserver: HTTPServer, status: int, body: bytes, content_type: str, words: str
) -> None:
    httpserver.add_fault("/v1/chat/completions", faults.status(status, body, content_type))
    with pytest.raises(ResponseStatusError) as info:
        list(Ollama.create_completion("m", USER, api_base=httpserver.url))
    error = info.value
    assert error.status == status and error.server_message == words
    assert words in str(error) and f"answered {status}" in str(error)
    assert error.url == httpserver.url + "/v1/chat/completions"
    if content_type == "text/html":
        assert "HTML page" in str(error)
    if status == 503:
        assert "still loading the model" in str(error)


def test_refused_connection_names_url_and_advice(closed_port: int) -> None:
    with pytest.raises(ServerUnreachableError) as info:
        Ollama.get_models(api_base=f"http://127.0.0.1:{closed_port}")
    message = str(info.value)
    assert f"http://127.0.0.1:{closed_port}/api/tags" in message
    assert "ollama serve" in message and "OLLAMA_HOST" in message


def test_redirects_are_not_followed(httpserver: HTTPServer) -> None:
    headers = {"Location": "https://elsewhere.example/v1/chat/completions"}
    httpserver.add_fault("/v1/chat/completions", faults.status(307, b"", "text/plain", headers))
    with pytest.raises(ResponseStatusError) as info:
        list(Ollama.create_completion("m", USER, api_base=httpserver.url, api_key="sk-abcdefgh"))
    assert info.value.status == 307
    assert "https://elsewhere.example" in str(info.value)
    assert len(httpserver.requests) == 1  # nothing was sent to the other origin


def test_foreign_host_header_403(fake_ollama: FakeOllama) -> None:
    fake_ollama.local_only = True
    with pytest.raises(ResponseStatusError) as info:
        list(
            Ollama.create_completion(
                "llama3.2", USER, api_base=fake_ollama.url, headers={"Host": "evil.example"}
            )
        )
    assert info.value.status == 403
    assert "Host header" in str(info.value)


def test_messages_are_checked_before_any_request() -> None:
    bad: list[Any] = [[], "hi", [{"content": "no role"}], ["not a dict"]]
    for messages in bad:
        with pytest.raises((TypeError, ValueError)):
            Ollama.create_async_generator("m", messages)


def test_model_names_cannot_inject(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ValueError, match="control characters"):
        Ollama.create_async_generator("m\r\nX-Evil: 1", USER)
    with pytest.raises(ModelNotFoundError):  # travels in the JSON body, not the path
        list(Ollama.create_completion("../../api/delete?x#y", USER, api_base=fake_ollama.url))
    assert fake_ollama.server.requests[-2].path == "/v1/chat/completions"


def test_import_loads_no_network_code() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ollama_provider\n"
        "heavy = [m for m in ('aiohttp', 'orjson', 'asyncio', 'ssl', 'rich') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_aclose_closes_the_pool_and_the_next_call_reconnects(fake_ollama: FakeOllama) -> None:
    from ollama_provider import aclose

    async def main() -> None:
        for _ in range(2):
            [
                i
                async for i in Ollama.create_async_generator(
                    "llama3.2", USER, api_base=fake_ollama.url
                )
            ]
        assert fake_ollama.server.total_connections == 1
        await aclose()
        assert await fake_ollama.server.await_connections(0)
        [i async for i in Ollama.create_async_generator("llama3.2", USER, api_base=fake_ollama.url)]
        assert fake_ollama.server.total_connections == 2

    run(main())
