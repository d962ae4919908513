"""Fault injection, network and status faults: one test per fault, each with its exact outcome."""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any

import pytest

from ollama_provider import (
    ModelNotFoundError,
    Ollama,
    ProviderTimeoutError,
    ResponseStatusError,
    ServerUnreachableError,
    StreamInterruptedError,
    Timeout,
)
from tests.support import faults
from tests.support.fake_ollama import FakeOllama
from tests.support.httpserver import HTTPServer

USER = [{"role": "user", "content": "Hi"}]
CHAT = "/v1/chat/completions"
NATIVE = {"keep_alive": "5m"}


def items_of(base: str, **kwargs: Any) -> list[Any]:
    return list(Ollama.create_completion("llama3.2", USER, api_base=base, **kwargs))


def piece(text: str) -> bytes:
    return b'data: {"choices":[{"index":0,"delta":{"content":"' + text.encode() + b'"}}]}\n\n'


# -- no response ---------------------------------------------------------------------------


def test_connection_refused(closed_port: int) -> None:
    # Refused at once, not after the connect timeout (that would be a ProviderTimeoutError).
    with pytest.raises(ServerUnreachableError) as info:
        items_of(f"http://127.0.0.1:{closed_port}", timeout=Timeout(connect=600.0))
    assert info.value.url == f"http://127.0.0.1:{closed_port}{CHAT}"
    assert info.value.url in str(info.value)


def test_connect_timeout_when_the_listen_queue_is_full() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)  # never accepts: once the queue is full, SYNs are dropped
        port = server.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        time.sleep(0.2)
        try:
            with pytest.raises(ProviderTimeoutError) as info:
                items_of(f"http://127.0.0.1:{port}", timeout=Timeout(connect=0.5))
        finally:
            for filler in fillers:
                filler.close()
    assert info.value.phase == "connect" and info.value.timeout == 0.5
    assert "connect timeout" in str(info.value)


def test_name_that_does_not_resolve() -> None:
    with pytest.raises(ServerUnreachableError) as info:
        items_of("http://no-such-host.invalid:11434", timeout=Timeout(connect=5.0))
    assert "http://no-such-host.invalid:11434/v1/chat/completions" in str(info.value)
    assert "could not be resolved" in str(info.value)


def test_reset_after_the_request_before_any_header(httpserver: HTTPServer) -> None:
    httpserver.add_fault(CHAT, faults.reset_before_headers(), times=None)
    with pytest.raises(ServerUnreachableError) as info:
        items_of(httpserver.url)
    assert "closed the connection before answering" in str(info.value)
    # A fresh connection may have delivered the request: a POST is never sent twice.
    assert httpserver.count(CHAT) == 1


def test_close_before_headers_on_a_get(httpserver: HTTPServer) -> None:
    httpserver.add_fault("/api/tags", faults.close_before_headers(), times=None)
    with pytest.raises(ServerUnreachableError):
        Ollama.get_models(api_base=httpserver.url)


@pytest.mark.parametrize(
    "fault", [faults.never_respond, faults.headers_then_stall], ids=["no headers", "no body"]
)
def test_first_byte_never_comes(httpserver: HTTPServer, fault: Any) -> None:
    httpserver.add_fault(CHAT, fault())
    with pytest.raises(ProviderTimeoutError) as info:
        items_of(httpserver.url, timeout=0.5)
    assert info.value.phase == "first byte" and info.value.timeout == 0.5
    assert info.value.partial == ""


def test_chunks_stop_mid_stream(httpserver: HTTPServer) -> None:
    httpserver.add_fault(CHAT, faults.stream_then_stall([piece("Hel"), piece("lo")]))
    # A first-byte limit far longer than the test's own timeout: the stall is caught by
    # the between-chunks limit, re-armed once the body started.
    with pytest.raises(ProviderTimeoutError) as info:
        items_of(httpserver.url, timeout=Timeout(first_byte=600.0, between_chunks=0.5))
    assert info.value.phase == "between chunks" and info.value.partial == "Hello"


# -- error statuses ----------------------------------------------------------------------------


@pytest.mark.parametrize("native", [False, True], ids=["v1", "native"])
@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (401, b'{"error":"unauthorized"}', "unauthorized"),
        (403, b"", ""),
        (
            400,
            b'{"error":"invalid character \'x\' looking for beginning of value"}',
            "invalid character 'x' looking for beginning of value",
        ),
        (400, b'{"error":"model is required"}', "model is required"),
        (
            400,
            b'{"error":"\\"llava:7b\\" does not support chat"}',
            '"llava:7b" does not support chat',
        ),
        (
            400,
            b'{"error":{"message":"EOF","type":"invalid_request_error","param":null,"code":null}}',
            "EOF",
        ),
        (
            500,
            b'{"error":"llama runner process has terminated: signal: killed"}',
            "llama runner process has terminated: signal: killed",
        ),
    ],
)
def test_error_statuses_with_ollamas_bodies(
    httpserver: HTTPServer, native: bool, status: int, body: bytes, words: str
) -> None:
    httpserver.add_fault("/api/chat" if native else CHAT, faults.status(status, body))
    with pytest.raises(ResponseStatusError) as info:
        items_of(httpserver.url, **(NATIVE if native else {}))
    assert type(info.value) is ResponseStatusError
    assert info.value.status == status and info.value.server_message == words


@pytest.mark.parametrize("native", [False, True], ids=["v1", "native"])
@pytest.mark.parametrize(
    "body",
    [
        b'{"error":{"message":"model \'gone\' not found","type":"not_found_error"}}',
        b'{"error":{"message":"model \\"gone\\" not found, try pulling it first",'
        b'"type":"api_error"}}',
        b'{"error":"model \'gone\' not found"}',
        b'{"error":"model \\"gone\\" not found, try pulling it first"}',
    ],
)
def test_model_404_in_every_form(httpserver: HTTPServer, native: bool, body: bytes) -> None:
    httpserver.add_fault("/api/chat" if native else CHAT, faults.status(404, body))
    with pytest.raises(ModelNotFoundError) as info:
        items_of(httpserver.url, **(NATIVE if native else {}))
    assert info.value.model == "gone" and "ollama pull gone" in str(info.value)
    assert info.value.available == []  # the listing failed too: best effort, no crash


def test_unknown_route_404_is_a_status_error(httpserver: HTTPServer) -> None:
    with pytest.raises(ResponseStatusError) as info:
        items_of(httpserver.url)
    assert info.value.status == 404 and "check that the address" in str(info.value)


# -- streams that end badly --------------------------------------------------------------------


def test_mid_stream_close(httpserver: HTTPServer) -> None:
    httpserver.add_fault(CHAT, faults.stream_then_close([piece("Hel"), piece("lo")]))
    with pytest.raises(StreamInterruptedError) as info:
        items_of(httpserver.url)
    assert info.value.partial == "Hello"


def test_body_ends_without_finish_or_done(httpserver: HTTPServer) -> None:
    httpserver.add_fault(CHAT, faults.sse([piece("Hel"), piece("lo")]))
    with pytest.raises(StreamInterruptedError) as info:
        items_of(httpserver.url)
    assert info.value.partial == "Hello" and "ended before the answer finished" in str(info.value)


def test_ollama_openai_layer_failure_shape(httpserver: HTTPServer) -> None:
    empty = b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
    httpserver.add_fault(CHAT, faults.stream_then_close([piece("Hi "), empty]))
    with pytest.raises(StreamInterruptedError) as info:
        items_of(httpserver.url)
    assert info.value.partial == "Hi "


@pytest.mark.parametrize("native", [False, True], ids=["v1", "native"])
def test_error_object_in_the_stream(fake_ollama: FakeOllama, native: bool) -> None:
    fake_ollama.fail_after = 2
    fake_ollama.fail_message = "an error was encountered while running the model: CUDA error"
    with pytest.raises(StreamInterruptedError) as info:
        items_of(fake_ollama.url, **(NATIVE if native else {}))
    assert info.value.partial == "Hello! How "
    if native:  # the native API says why; Ollama's /v1 layer just closes the connection
        assert info.value.server_message == fake_ollama.fail_message
        assert fake_ollama.fail_message in str(info.value)


def test_error_object_as_an_sse_event(httpserver: HTTPServer) -> None:
    httpserver.add_fault(CHAT, faults.sse([piece("A"), b'data: {"error":{"message":"boom"}}\n\n']))
    with pytest.raises(StreamInterruptedError) as info:
        items_of(httpserver.url)
    assert info.value.partial == "A" and info.value.server_message == "boom"
