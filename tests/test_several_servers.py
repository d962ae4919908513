"""Several servers: route by model, spread by load, fail over before the first byte only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ollama_provider import (
    AllServersFailedError,
    Client,
    FinishReason,
    ModelNotFoundError,
    Ollama,
    ServerUnreachableError,
    SomeServersFailedError,
    StreamInterruptedError,
    _pool,
)
from tests.conftest import run
from tests.support import faults
from tests.support.fake_ollama import FakeOllama
from tests.support.httpserver import HTTPServer

HI = [{"role": "user", "content": "say: hello there"}]
CHAT = "/v1/chat/completions"


@pytest.fixture
def pair() -> Iterator[tuple[FakeOllama, FakeOllama]]:
    """Two fake Ollamas: the first has llama3.2 and qwen3, the second llama3.2 and gemma3."""
    with HTTPServer() as one, HTTPServer() as two:
        yield (
            FakeOllama(one, models=["llama3.2", "qwen3:0.6b"]),
            FakeOllama(two, models=["llama3.2", "gemma3:1b"]),
        )


def text(items: list[Any]) -> str:
    return "".join(map(str, items))


def chat(bases: list[str], model: str, **kwargs: Any) -> list[Any]:
    return list(Ollama.create_completion(model, HI, bases, **kwargs))


def test_a_call_goes_to_a_server_that_has_the_model(pair: tuple[FakeOllama, FakeOllama]) -> None:
    one, two = pair
    bases = [one.url, two.url]
    assert text(chat(bases, "qwen3:0.6b")) == "hello there"
    assert text(chat(bases, "gemma3:1b")) == "hello there"
    assert (one.count(CHAT), two.count(CHAT)) == (1, 1)
    assert one.last_body(CHAT)["model"] == "qwen3:0.6b"
    assert two.last_body(CHAT)["model"] == "gemma3:1b"


def test_the_least_busy_server_gets_the_next_call(pair: tuple[FakeOllama, FakeOllama]) -> None:
    one, two = pair
    one.token_delay = two.token_delay = 0.05
    messages = [{"role": "user", "content": "say: " + "w " * 20}]

    async def four() -> list[list[Any]]:
        async def go() -> list[Any]:
            agen = Ollama.create_async_generator("llama3.2", messages, [one.url, two.url])
            return [i async for i in agen]

        return await asyncio.gather(*(go() for _ in range(4)))

    for items in run(four()):
        assert FinishReason("stop") in items
    assert (one.count(CHAT), two.count(CHAT)) == (2, 2)


def test_calls_one_at_a_time_prefer_the_order_given(pair: tuple[FakeOllama, FakeOllama]) -> None:
    """Ties in load go to the order given: a list names the server to prefer when none is
    busy; calls that overlap spread (see the least-busy test)."""
    one, two = pair
    for _ in range(4):
        assert text(chat([one.url, two.url], "llama3.2")) == "hello there"
    assert (one.count(CHAT), two.count(CHAT)) == (4, 0)
    chat([two.url, one.url], "llama3.2")
    assert two.count(CHAT) == 1


def test_a_refused_server_is_skipped_then_cooled_down(
    closed_port: int, fake_ollama: FakeOllama
) -> None:
    dead = f"http://127.0.0.1:{closed_port}"
    assert Ollama.get_models([dead, fake_ollama.url]) == [m.name for m in fake_ollama.installed()]
    state = _pool.state_of(Ollama._endpoints(dead, None, {})[0])
    assert state.failures == 1 and state.skip_until > 0
    assert text(chat([dead, fake_ollama.url], "llama3.2")) == "hello there"
    assert state.failures == 1  # cooling down: not tried again


def test_reset_forgets_the_pool(closed_port: int, fake_ollama: FakeOllama) -> None:
    from ollama_provider import _state

    dead = f"http://127.0.0.1:{closed_port}"
    Ollama.get_models([dead, fake_ollama.url])
    endpoint = Ollama._endpoints(dead, None, {})[0]
    assert _pool.state_of(endpoint).failures == 1
    _state.reset()
    assert _pool.state_of(endpoint).failures == 0 and _pool.state_of(endpoint).skip_until == 0


@pytest.mark.parametrize(
    "fault",
    [
        faults.status(503, b'{"error":"busy"}', headers={"Retry-After": "30"}),
        faults.status(502, b"<html><title>502 Bad Gateway</title></html>", "text/html"),
        faults.status(429, b'{"error":"slow down"}', headers={"Retry-After": "2"}),
        faults.reset_before_headers(),
    ],
    ids=["503 retry-after", "502", "429 retry-after", "reset"],
)
def test_before_the_first_byte_a_call_moves_to_the_next_server(
    pair: tuple[FakeOllama, FakeOllama], fault: Any
) -> None:
    one, two = pair
    one.server.add_fault(CHAT, fault, times=None)
    assert text(chat([one.url, two.url], "llama3.2")) == "hello there"
    assert two.count(CHAT) == 1
    # Sent once, never again to the server that failed; a reset on the pooled connection
    # (the model list's) counts as a stale connection, retried once on a fresh one.
    sent = one.server.count(CHAT)
    assert sent == (2 if "reset" in repr(fault) else 1), sent


def test_retry_after_sets_the_cool_down(pair: tuple[FakeOllama, FakeOllama]) -> None:
    one, two = pair
    one.server.add_fault(CHAT, faults.status(503, b"{}", headers={"Retry-After": "45"}))
    before = time.monotonic()
    chat([one.url, two.url], "llama3.2")
    after = time.monotonic()
    state = _pool.state_of(Ollama._endpoints(one.url, None, {})[0])
    assert before + 45 <= state.skip_until <= after + 45  # 45 s from the failure, however slow


def test_a_429_without_retry_after_is_not_failed_over(pair: tuple[FakeOllama, FakeOllama]) -> None:
    one, two = pair
    one.server.add_fault(CHAT, faults.status(429, b'{"error":"quota"}'))
    with pytest.raises(Exception) as info:
        chat([one.url, two.url], "llama3.2")
    assert getattr(info.value, "status", None) == 429 and two.count(CHAT) == 0


def test_after_the_first_byte_nothing_is_retried(pair: tuple[FakeOllama, FakeOllama]) -> None:
    one, two = pair
    one.fail_after = 2
    with pytest.raises(StreamInterruptedError) as info:
        chat([one.url, two.url], "llama3.2")
    assert info.value.partial == "hello there"[: len(info.value.partial)] and info.value.partial
    assert two.count(CHAT) == 0  # the answer is never duplicated


def test_every_server_failing_is_one_error_naming_each(
    closed_port: int, httpserver: HTTPServer
) -> None:
    busy = faults.status(503, b'{"error":"busy"}')
    httpserver.add_fault(lambda request: True, busy, times=None)  # every route
    dead = f"http://127.0.0.1:{closed_port}"
    with pytest.raises(AllServersFailedError) as info:
        chat([dead, httpserver.url], "llama3.2")
    assert isinstance(info.value, ServerUnreachableError)
    assert len(info.value.errors) == 2
    assert dead in str(info.value) and httpserver.url in str(info.value)


def test_a_model_no_server_has_lists_what_each_has(pair: tuple[FakeOllama, FakeOllama]) -> None:
    one, two = pair
    with pytest.raises(ModelNotFoundError) as info:
        chat([one.url, two.url], "nosuch")
    assert info.value.available_by_server == {
        one.url: ["llama3.2:latest", "qwen3:0.6b"],
        two.url: ["llama3.2:latest", "gemma3:1b"],
    }
    assert "gemma3:1b" in str(info.value) and one.count(CHAT) + two.count(CHAT) == 0


def test_a_stale_model_list_is_refreshed_on_a_404(pair: tuple[FakeOllama, FakeOllama]) -> None:
    one, two = pair
    Ollama.get_models([one.url, two.url])  # cached: both have llama3.2
    one.models = [m for m in one.models if not m.name.startswith("llama3.2")]
    assert text(chat([one.url, two.url], "llama3.2")) == "hello there"
    assert two.count(CHAT) == 1


def test_models_are_the_union_in_order(
    pair: tuple[FakeOllama, FakeOllama], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = pair
    expected = ["llama3.2:latest", "qwen3:0.6b", "gemma3:1b"]
    assert Ollama.get_models([one.url, two.url]) == expected
    assert Ollama.default_model == "llama3.2:latest"
    monkeypatch.setenv("OLLAMA_HOST", f"{one.url}, {two.url}")
    assert Ollama.get_models(refresh=True) == expected
    records = Ollama.list_models_sync([one.url, two.url])
    assert [(r.name, r.server) for r in records] == [
        ("llama3.2:latest", one.url), ("qwen3:0.6b", one.url),
        ("llama3.2:latest", two.url), ("gemma3:1b", two.url),
    ]  # fmt: skip
    assert [(v.server, v.version) for v in Ollama.versions_sync([one.url, two.url])] == [
        (one.url, one.version), (two.url, two.version),
    ]  # fmt: skip


def test_management_acts_on_every_server_and_reports_each(
    pair: tuple[FakeOllama, FakeOllama],
) -> None:
    one, two = pair
    Ollama.load_sync("llama3.2", [one.url, two.url])
    assert {(r.name, r.server) for r in Ollama.ps_sync([one.url, two.url])} == {
        ("llama3.2:latest", one.url), ("llama3.2:latest", two.url),
    }  # fmt: skip
    with pytest.raises(SomeServersFailedError) as info:
        Ollama.delete_sync("qwen3:0.6b", [one.url, two.url])
    assert info.value.done == [one.url] and list(info.value.errors) == [two.url]
    assert isinstance(info.value.errors[two.url], ModelNotFoundError)
    lines = list(Ollama.pull_sync("gemma3:1b", [one.url, two.url]))
    assert {p.server for p in lines} == {one.url, two.url}
    assert [p.status for p in lines if p.server == two.url][-1] == "success"


def test_embeddings_spread_their_batches(pair: tuple[FakeOllama, FakeOllama]) -> None:
    from tests.support.ollama_models import make_model

    one, two = pair
    for fake in pair:
        fake.models.append(make_model("all-minilm", capabilities=["embedding"]))
    texts = [f"text {i}" for i in range(40)]
    result = Ollama.embed_sync(
        "all-minilm", texts, api_base=[one.url, two.url], batch_size=5, max_concurrency=4
    )
    assert len(result.embeddings) == 40
    assert one.count("/api/embed") > 0 and two.count("/api/embed") > 0
    assert one.count("/api/embed") + two.count("/api/embed") == 8


def test_an_embedding_that_succeeds_clears_the_server_s_failures(
    pair: tuple[FakeOllama, FakeOllama],
) -> None:
    from tests.support.ollama_models import make_model

    one, two = pair
    for fake in pair:
        fake.models.append(make_model("all-minilm", capabilities=["embedding"]))
    state = _pool.state_of(Ollama._endpoints(one.url, None, {})[0])
    state.failures = 3  # failed before; its cool-down is over
    Ollama.embed_sync("all-minilm", ["a", "b"], api_base=[one.url, two.url])
    assert one.count("/api/embed") == 1
    assert state.failures == 0  # as a chat that succeeds does


def test_the_client_takes_a_list(pair: tuple[FakeOllama, FakeOllama]) -> None:
    one, two = pair
    client = Client(api_base=[one.url, two.url])
    completion = client.chat.completions.create(model="gemma3:1b", messages=HI)
    assert completion.choices[0].message.content == "hello there" and two.count(CHAT) == 1
    assert [m.id for m in client.models.list()] == ["llama3.2:latest", "qwen3:0.6b", "gemma3:1b"]


def test_one_server_behaves_as_before(fake_ollama: FakeOllama) -> None:
    assert text(chat([fake_ollama.url], "llama3.2")) == "hello there"
    assert fake_ollama.count("/api/tags") == 0  # no model lookup for a single server


# -- two real llama.cpp servers, one killed mid-run ---------------------------------------


def test_a_real_server_killed_mid_run(
    llama: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """In-flight calls on the killed server fail as interruptions; later calls succeed on
    the other; the killed server is used again once it is back (after its cool-down)."""
    import logging

    from scripts.backends import llama as backend

    from ollama_provider import OpenaiAPI

    monkeypatch.setattr(_pool, "COOL_DOWN_BASE", 0.2)  # a short cool-down, for the test
    second = backend.start(log_path=tmp_path / "second.log")
    port = int(second.url.rsplit(":", 1)[1])
    bases = [llama.base_url, second.base_url]
    long_ask = [{"role": "user", "content": "Write a long story about the sea."}]
    fixed = {"temperature": 0, "seed": 1}
    caplog.set_level(logging.DEBUG, logger="ollama_provider")

    async def two_streams_then_kill() -> list[Any]:
        streams = [
            OpenaiAPI.create_async_generator(
                "smollm2:135m", long_ask, bases, max_tokens=300, **fixed
            )
            for _ in range(2)
        ]  # one on each server: the least busy gets the next
        await asyncio.gather(*(s.__anext__() for s in streams))  # both have started
        second.stop()
        outcomes: list[Any] = []
        for stream in streams:
            try:
                items = [i async for i, _ in _zip_range(stream, 20)]  # the living one goes on
                await stream.aclose()
                outcomes.append(items)
            except StreamInterruptedError as exc:
                outcomes.append(exc)
        return outcomes

    results = run(two_streams_then_kill())
    cut = [r for r in results if isinstance(r, StreamInterruptedError)]
    whole = [r for r in results if isinstance(r, list)]
    assert len(cut) == 1 and len(whole) == 1 and len(whole[0]) == 20, results
    assert second.base_url in str(cut[0].url) and cut[0].partial
    for _ in range(3):  # later calls: all on the living server
        items = list(OpenaiAPI.create_completion("smollm2:135m", HI, bases, max_tokens=8, **fixed))
        assert any(isinstance(i, FinishReason) for i in items)
    back = backend.start(port=port, log_path=tmp_path / "back.log")
    try:
        _wait_until_cooled(_pool.state_of(OpenaiAPI._endpoints(second.base_url, None, {})[0]))
        caplog.clear()

        async def two() -> None:
            await asyncio.gather(
                *(
                    _collect(OpenaiAPI.create_async_generator(
                        "smollm2:135m", HI, bases, max_tokens=16, **fixed
                    ))
                    for _ in range(2)
                )
            )  # fmt: skip

        run(two())
        assert f"→ {second.base_url}" in caplog.text  # used again
    finally:
        back.stop()


def _wait_until_cooled(state: _pool.ServerState, within: float = 60.0) -> None:
    """Until the server's cool-down, if it has one, is over (it doubles per failure, with
    jitter, so no fixed sleep is sure to outlast it)."""
    deadline = time.monotonic() + within
    while state.skip_until > time.monotonic():
        if time.monotonic() >= deadline:
            raise AssertionError(f"still cooling down after {within} s: {state}")
        time.sleep(0.05)


async def _collect(items: Any) -> list[Any]:
    return [i async for i in items]


async def _zip_range(items: Any, n: int) -> Any:
    """The first ``n`` items of an async iterator, each with its number."""
    count = 0
    async for item in items:
        yield item, count
        count += 1
        if count == n:
            return
