"""Regression tests for the adversarial review (issue 13): misbehaving servers on loopback.

Each test names the item it guards. They failed before the fixes they guard.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ollama_provider import (
    BadResponseError,
    FinishReason,
    ModelNotFoundError,
    Ollama,
    OpenaiAPI,
    ProviderTimeoutError,
    ResponseStatusError,
    ServerUnreachableError,
    StreamInterruptedError,
    Timeout,
    Usage,
    _sync,
)
from ollama_provider._decode import LineTooLongError, SSEDecoder
from ollama_provider._wording import CLI, describe
from tests.conftest import run
from tests.support import faults
from tests.support.fake_ollama import FakeOllama
from tests.support.httpmsg import Connection, Request, Response
from tests.support.httpserver import HTTPServer

CHAT = "/v1/chat/completions"
USER = [{"role": "user", "content": "Hi"}]


def piece(content: Any = "x", finish: str | None = None, **extra: Any) -> bytes:
    delta = {} if content is None else {"content": content}
    chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def items_of(base: str, **kwargs: Any) -> list[Any]:
    return list(Ollama.create_completion("m", USER, api_base=base, **kwargs))


def endless(unit: bytes, written: list[int], content_type: str = "text/event-stream") -> Any:
    """A 200 stream that writes ``unit`` until the client leaves; counts the bytes."""

    async def fault(request: Request, conn: Connection) -> bool:
        response = Response(request)
        await response.start_stream(200, content_type)
        try:
            while True:
                await response.write_chunk(unit)
                written[0] += len(unit)
        except (ConnectionError, OSError, RuntimeError):
            return False

    return fault


# -- 1. llama.cpp's in-stream error ------------------------------------------------------


def test_1_an_sse_error_line_is_an_interruption_with_the_partial(httpserver: HTTPServer) -> None:
    error = b'error: {"code":500,"message":"the slot crashed","type":"server_error"}\n\n'
    httpserver.add_fault(CHAT, faults.sse([piece("Hel"), piece("lo"), error, b"data: [DONE]\n\n"]))
    with pytest.raises(StreamInterruptedError) as info:
        items_of(httpserver.url)
    assert info.value.partial == "Hello"
    assert info.value.server_message == "the slot crashed"
    assert "the slot crashed" in str(info.value)


# -- 2. an event made of many data: lines ---------------------------------------------------


def test_2_the_limit_bounds_an_event_not_only_a_line() -> None:
    decoder = SSEDecoder(max_line=64 * 1024)
    line = b"data: " + b"x" * 4096 + b"\n"
    with pytest.raises(LineTooLongError):
        for _ in range(100):  # 400 KiB in one event, no blank line
            decoder.feed(line)
    assert decoder._size == 0 and not decoder._data  # nothing kept after the fault


def test_2_a_server_sending_an_endless_event_is_cut_off(httpserver: HTTPServer) -> None:
    written = [0]
    httpserver.add_fault(CHAT, endless(b"data: " + b"y" * 4090 + b"\n", written))
    with pytest.raises(StreamInterruptedError) as info:
        items_of(httpserver.url, max_line_size=256 * 1024)
    assert "262,144 byte limit" in str(info.value)
    httpserver.wait_until_connections(0, timeout=30)
    # what the server could write: the limit, the reader's buffer and the socket buffers
    assert written[0] < 16 * 1024 * 1024


@pytest.mark.timeout(60)  # before the fix the call never returned: fail, do not hang
def test_2_an_endless_json_answer_is_refused_at_its_limit(httpserver: HTTPServer) -> None:
    written = [0]
    httpserver.add_fault("/api/tags", endless(b"[" * 4096, written, "application/json"))
    with pytest.raises(BadResponseError) as info:
        Ollama.list_models_sync(httpserver.url)
    assert "over 16,777,216 bytes" in str(info.value)
    httpserver.wait_until_connections(0, timeout=30)
    assert written[0] < 64 * 1024 * 1024  # the limit and the buffers, not the rest


# -- 3. the sync API's read-ahead ------------------------------------------------------------


def test_3_a_slow_sync_consumer_holds_a_bounded_number_of_items() -> None:
    produced = [0]

    async def fast() -> AsyncIterator[int]:
        while True:
            produced[0] += 1
            yield produced[0]
            await asyncio.sleep(0)

    taken = []
    for item in _sync.iterate(fast()):
        taken.append(item)
        if len(taken) == 3:
            break
        # give the producer every chance to run ahead
        for _ in range(20):
            if produced[0] >= _sync.READ_AHEAD + len(taken) + 1:
                break
            _sync.run(asyncio.sleep(0.01))
    assert taken == [1, 2, 3]
    assert produced[0] <= _sync.READ_AHEAD + 4


def test_3_big_items_are_bounded_by_characters_not_only_by_count() -> None:
    produced = [0]
    piece_of_text = "x" * 100_000

    async def big() -> AsyncIterator[str]:
        while True:
            produced[0] += 1
            yield piece_of_text
            await asyncio.sleep(0)

    stream = _sync.iterate(big())
    assert next(stream) == piece_of_text
    for _ in range(50):  # give the producer every chance to run ahead
        if produced[0] * len(piece_of_text) > 2 * _sync.READ_AHEAD_CHARS:
            break
        _sync.run(asyncio.sleep(0.01))
    stream.close()
    # the character budget, plus the item taken and the one in the producer's hands
    assert produced[0] <= _sync.READ_AHEAD_CHARS // len(piece_of_text) + 3
    assert produced[0] < _sync.READ_AHEAD


def test_3_a_consumer_that_drains_and_falls_behind_by_turns_gets_every_item_in_order() -> None:
    """The producer waits and is woken many times over; a lost wake-up would hang here."""
    count = 40 * _sync.READ_AHEAD

    async def numbers() -> AsyncIterator[int]:
        for n in range(count):
            yield n
            if n % 7 == 0:
                await asyncio.sleep(0)

    taken = []
    for item in _sync.iterate(numbers()):
        taken.append(item)
        if item % (_sync.READ_AHEAD + 5) == 0:
            _sync.run(asyncio.sleep(0.002))  # fall behind: the channel fills and the producer waits
    assert taken == list(range(count))


def test_3_a_slow_consumer_of_a_real_stream_does_not_make_it_read_everything(
    httpserver: HTTPServer,
) -> None:
    written = [0]
    httpserver.add_fault(CHAT, endless(piece("z" * 1000), written))
    stream = Ollama.create_completion("m", USER, api_base=httpserver.url)
    for i, _ in enumerate(stream):
        if i == 200:
            break
        if i == 0:
            _sync.run(asyncio.sleep(1.0))  # the consumer is busy: the reader must wait
    stream.close()  # type: ignore[attr-defined]
    # 64 items ahead, the client's read buffer and the kernel's socket buffers: far from
    # the hundreds of MiB an unbounded queue lets a fast server push.
    assert written[0] < 32 * 1024 * 1024


# -- 4. a finished answer whose end never comes ---------------------------------------------


def test_4_a_finished_answer_succeeds_when_the_server_keeps_the_stream_open(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ollama_provider import _streaming

    monkeypatch.setattr(_streaming, "FINISHED_GRACE", 0.2)
    httpserver.add_fault(CHAT, faults.stream_then_stall([piece("Hi"), piece(None, "stop")]))
    items = items_of(httpserver.url, timeout=Timeout(between_chunks=3600))
    assert items == ["Hi", FinishReason("stop")]
    assert httpserver.wait_until_connections(0, timeout=30)  # closed: it cannot be reused


def test_4_done_on_a_stream_kept_open_ends_the_call(httpserver: HTTPServer) -> None:
    httpserver.add_fault(
        CHAT, faults.stream_then_stall([piece("Hi"), piece(None, "stop"), b"data: [DONE]\n\n"])
    )
    items = items_of(httpserver.url, timeout=Timeout(between_chunks=3600))
    assert items == ["Hi", FinishReason("stop")]
    assert httpserver.wait_until_connections(0, timeout=30)


# -- 5. content and counts of the wrong type ------------------------------------------------


def test_5_content_parts_are_joined_and_counts_are_numbers(httpserver: HTTPServer) -> None:
    usage = {"prompt_tokens": "5", "completion_tokens": "2", "total_tokens": "7"}
    parts = [{"type": "text", "text": "He"}, {"type": "text", "text": "llo"}]
    body = [
        piece(parts),
        piece(None, "stop"),
        b"data: " + json.dumps({"choices": [], "usage": usage}).encode() + b"\n\n",
    ]
    httpserver.add_fault(CHAT, faults.sse(body))
    items = items_of(httpserver.url)
    assert items == ["Hello", FinishReason("stop"), Usage(5, 2, 7)]


def test_5_content_that_is_a_number_is_an_interruption_with_the_partial(
    httpserver: HTTPServer,
) -> None:
    httpserver.add_fault(CHAT, faults.sse([piece("Hel"), piece(42)]))
    with pytest.raises(StreamInterruptedError) as info:
        items_of(httpserver.url)
    assert info.value.partial == "Hel"
    assert "not text: 42" in str(info.value)


# -- 6. a 200 answer that is not a completion ----------------------------------------------


def test_6_a_non_stream_answer_without_choices_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.add_fault(CHAT, faults.status(200, b'{"detail":"Not authenticated"}'))
    with pytest.raises(BadResponseError) as info:
        items_of(httpserver.url, stream=False)
    assert "Not authenticated" in str(info.value)


# -- 7. a pull that stops before success ------------------------------------------------------


def test_7_a_pull_that_ends_before_success_raises(httpserver: HTTPServer) -> None:
    lines = [{"status": "pulling manifest"}, {"status": "pulling abc", "total": 10, "completed": 5}]
    httpserver.add_fault("/api/pull", faults.ndjson(lines))
    with pytest.raises(StreamInterruptedError) as info:
        list(Ollama.pull_sync("m", httpserver.url))
    assert "'pulling abc'" in str(info.value)


def test_7_a_progress_line_that_is_not_an_object_is_a_typed_error(httpserver: HTTPServer) -> None:
    httpserver.add_fault("/api/pull", faults.ndjson([b"[1, 2]\n"]))
    with pytest.raises(BadResponseError):
        list(Ollama.pull_sync("m", httpserver.url))


# -- 10, 11. secrets in exception chains and echoed headers ----------------------------------


SECRET = "s3cret-TOKEN-value"


def reachable_texts(error: BaseException) -> str:
    texts, seen, todo = [], set(), [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args), repr(vars(current))]
        todo += [current.__cause__, current.__context__]  # type: ignore[list-item]
    return "\n".join(texts)


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH_9.2p1\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 5\r\n\r\nabcde",
    ],
    ids=["not http", "bad chunk size", "brotli"],
)
@pytest.mark.parametrize("auth", ["api_key", "basic", "header"])
def test_10_no_secret_is_reachable_from_the_error(
    httpserver: HTTPServer, answer: bytes, auth: str
) -> None:
    httpserver.add_fault(CHAT, faults.raw(answer), times=None)
    kwargs: dict[str, Any] = {}
    base = httpserver.url
    if auth == "api_key":
        kwargs["api_key"] = SECRET
    elif auth == "basic":
        base = base.replace("http://", f"http://user:{SECRET}@")
    else:
        kwargs["headers"] = {"Authorization": f"Token {SECRET}"}
    with pytest.raises((ServerUnreachableError, StreamInterruptedError, BadResponseError)) as info:
        items_of(base, **kwargs)
    assert SECRET not in reachable_texts(info.value)
    assert "aiohttp" not in type(info.value.__cause__).__module__


def test_10_a_non_http_service_is_named_as_such(httpserver: HTTPServer) -> None:
    httpserver.add_fault(CHAT, faults.raw(b"SSH-2.0-OpenSSH_9.2p1\r\n"), times=None)
    with pytest.raises(ServerUnreachableError) as info:
        items_of(httpserver.url)
    assert "does not speak HTTP" in str(info.value) and "SSH-2.0" in str(info.value)
    assert "ollama serve" not in str(info.value)


@pytest.mark.parametrize("value", [f"Token {SECRET}", "Bearer abc", f"Bearer {SECRET}"])
def test_11_an_authorization_header_echoed_back_is_masked(
    httpserver: HTTPServer, value: str
) -> None:
    async def echo(request: Request, conn: Connection) -> bool:
        seen = request.headers.get("Authorization", "")
        await Response(request).send(401, json.dumps({"error": f"bad {seen}"}), "application/json")
        return False

    httpserver.add_fault(CHAT, echo)
    with pytest.raises(ResponseStatusError) as info:
        items_of(httpserver.url, headers={"Authorization": value})
    token = value.split(" ", 1)[1]
    assert token not in reachable_texts(info.value)


# -- 12. the model-list cache and credentials ----------------------------------------------


def test_12_a_cached_private_list_is_not_served_to_other_credentials(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.auth = "right"
    assert Ollama.get_models(api_base=fake_ollama.url, api_key="right")
    for other in ({"api_key": "wrong"}, {}, {"headers": {"Authorization": "Bearer wrong"}}):
        with pytest.raises(ResponseStatusError) as info:
            Ollama.get_models(api_base=fake_ollama.url, **other)
        assert info.value.status == 401
    assert fake_ollama.count("/api/tags") == 4


def test_12_a_url_password_is_part_of_the_cache_key(fake_ollama: FakeOllama) -> None:
    base = fake_ollama.url.replace("http://", "http://u:one@")
    Ollama.get_models(api_base=base)
    Ollama.get_models(api_base=base.replace(":one@", ":two@"))
    assert fake_ollama.count("/api/tags") == 2


# -- 13. cancelling one waiter --------------------------------------------------------------


@pytest.mark.parametrize("cancel", [0, 1], ids=["the first caller", "a later caller"])
def test_13_cancelling_one_caller_never_cancels_another(
    fake_ollama: FakeOllama, cancel: int
) -> None:
    # The server holds the model list until the test has cancelled one caller: events,
    # not sleeps, so no stall of this machine can reorder them.
    arrived, release = threading.Event(), threading.Event()

    async def held_tags(request: Request, conn: Connection) -> bool:
        arrived.set()
        await asyncio.to_thread(release.wait, 60)
        response = Response(request)
        await fake_ollama.handle(request, response)
        return not response.close_after

    fake_ollama.server.add_fault("/api/tags", held_tags)

    async def main() -> list[Any]:
        tasks = [asyncio.ensure_future(Ollama.get_models_async(fake_ollama.url)) for _ in range(3)]
        try:
            await asyncio.to_thread(arrived.wait, 60)  # the one request is at the server
            tasks[cancel].cancel()
            await asyncio.wait([tasks[cancel]], timeout=60)
        finally:
            release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = run(main())
    assert isinstance(results[cancel], asyncio.CancelledError)
    names = [m.name for m in fake_ollama.installed()]
    assert [r for i, r in enumerate(results) if i != cancel] == [names, names]
    assert fake_ollama.count("/api/tags") == 1


# -- 14. a POST is not sent twice ------------------------------------------------------------


def test_14_a_stale_pooled_connection_is_retried_once(httpserver: HTTPServer) -> None:
    """The only case a POST is sent again: a reused connection the server had closed."""
    answer = [piece("ok", "stop"), b"data: [DONE]\n\n"]
    httpserver.add_fault(CHAT, faults.sse(answer), times=1)  # keeps the connection open
    httpserver.add_fault(CHAT, faults.close_before_headers(), times=1)
    httpserver.add_fault(CHAT, faults.sse(answer), times=1)

    async def twice() -> list[list[Any]]:
        first = [i async for i in Ollama.create_async_generator("m", USER, httpserver.url)]
        second = [i async for i in Ollama.create_async_generator("m", USER, httpserver.url)]
        return [first, second]

    first, second = run(twice())
    assert first == second == ["ok", FinishReason("stop")]
    assert httpserver.count(CHAT) == 3


# -- 15, 16. bad input fails when the call is made ---------------------------------------------


def test_15_a_lone_surrogate_fails_at_call_time_before_any_request(
    fake_ollama: FakeOllama,
) -> None:
    messages = [{"role": "user", "content": "caf\udce9"}]
    with pytest.raises(ValueError, match=r"messages\[0\]\.content holds text that is not valid"):
        Ollama.create_async_generator("", messages, fake_ollama.url)
    assert fake_ollama.server.count() == 0


def test_15_an_embedding_input_json_cannot_carry_fails_before_any_request(
    fake_ollama: FakeOllama,
) -> None:
    texts = ["fine"] * 5 + ["caf\udce9"]
    with pytest.raises(ValueError, match=r"input\[5\] holds text that is not valid"):
        Ollama.embed_sync("all-minilm", texts, api_base=fake_ollama.url, batch_size=2)
    assert fake_ollama.server.count() == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: Timeout.of(math.nan, Timeout()),
        lambda: Timeout(first_byte=-1),
        lambda: Timeout(connect=math.nan),
        lambda: Timeout(between_chunks=math.inf),
        lambda: Timeout.of(True, Timeout()),  # type: ignore[arg-type]
    ],
)
def test_16_impossible_timeouts_are_refused_at_once(make: Any) -> None:
    with pytest.raises(ValueError, match="positive, finite number of seconds"):
        make()


def test_16_a_bad_timeout_fails_at_call_time() -> None:
    with pytest.raises(ValueError):
        Ollama.create_async_generator("m", USER, "http://127.0.0.1:9", timeout=math.nan)


# -- misleading messages --------------------------------------------------------------------


def test_a_json_answer_to_a_stream_request_is_read_as_the_answer(httpserver: HTTPServer) -> None:
    whole = {
        "choices": [{"message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]
    }
    httpserver.add_fault(CHAT, faults.status(200, json.dumps(whole)))
    assert items_of(httpserver.url) == ["Hi", FinishReason("stop")]


def test_a_captive_portal_page_is_named(httpserver: HTTPServer) -> None:
    page = b"<html><head><title>Hotel WiFi login</title></head><body>Log in</body></html>"
    httpserver.add_fault(CHAT, faults.status(200, page, "text/html"))
    with pytest.raises(BadResponseError) as info:
        items_of(httpserver.url)
    message = str(info.value)
    assert "HTML page ('Hotel WiFi login') instead of a stream" in message
    assert "cut it short" not in message


def test_a_crafted_html_error_page_is_read_in_linear_time(httpserver: HTTPServer) -> None:
    page = b"<html>" + b"<title " * 10000 + b"x"
    httpserver.add_fault(CHAT, faults.status(502, page, "text/html"))
    with pytest.raises(ResponseStatusError) as info:
        items_of(httpserver.url)
    assert info.value.status == 502 and info.value.html


def test_a_dns_failure_does_not_advise_starting_ollama() -> None:
    with pytest.raises(ServerUnreachableError) as info:
        items_of("http://no-such-host.invalid:11434", timeout=Timeout(connect=30))
    assert "could not be resolved" in str(info.value)
    assert "ollama serve" not in str(info.value) and "host name" in info.value.advice


def test_deleting_a_missing_model_does_not_advise_pulling_it(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        Ollama.delete_sync("nosuch", fake_ollama.url)
    assert "pull" not in str(info.value) and "nothing to delete" in str(info.value)
    assert "qwen3:0.6b" in info.value.advice


def test_a_timeout_is_explained_in_the_reader_s_terms(httpserver: HTTPServer) -> None:
    httpserver.add_fault(CHAT, faults.never_respond())
    with pytest.raises(ProviderTimeoutError) as info:
        items_of(httpserver.url, timeout=0.3)
    assert "timeout=" in info.value.advice
    assert "--timeout" in describe(info.value, CLI).advice
    assert "timeout=" not in describe(info.value, CLI).advice


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_kept(httpserver: HTTPServer, status: int) -> None:
    fault = faults.status(status, b'{"error":"busy"}', headers={"Retry-After": "7"})
    httpserver.add_fault(CHAT, fault)
    with pytest.raises(ResponseStatusError) as info:
        items_of(httpserver.url)
    assert info.value.retry_after == 7.0
    assert "retry after 7 s" in str(info.value)


def test_openai_api_errors_do_not_mention_ollama(closed_port: int) -> None:
    with pytest.raises(ServerUnreachableError) as info:
        list(OpenaiAPI.create_completion("m", USER, f"http://127.0.0.1:{closed_port}/v1"))
    assert "Ollama" not in str(info.value)


@pytest.mark.parametrize("setting", ["batch_size", "max_concurrency"])
@pytest.mark.parametrize("value", [0, -2, 1.5, "4"])
def test_embedding_batch_settings_are_checked_before_any_request(
    fake_ollama: FakeOllama, setting: str, value: Any
) -> None:
    with pytest.raises(ValueError, match=f"{setting} must be a positive int, not {value!r}"):
        Ollama.embed_sync("all-minilm", ["a"], api_base=fake_ollama.url, **{setting: value})
    assert fake_ollama.server.count() == 0
