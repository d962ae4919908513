"""Leaving streams early, cancellation, event loops and threads: nothing hangs or leaks."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvloop

from ollama_provider import Ollama
from tests.support.fake_ollama import FakeOllama

USER = [{"role": "user", "content": "Hi"}]


def start(ollama: FakeOllama) -> AsyncIterator[Any]:
    return Ollama.create_async_generator("llama3.2", USER, api_base=ollama.url)


async def by_break(ollama: FakeOllama) -> None:
    async for _ in start(ollama):
        break  # the stream object is dropped: the loop's finalizer closes it


async def by_aclose(ollama: FakeOllama) -> None:
    stream = start(ollama)
    await stream.__anext__()
    await stream.aclose()  # type: ignore[attr-defined]


async def by_cancel(ollama: FakeOllama) -> None:
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in start(ollama):
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def by_gc(ollama: FakeOllama) -> None:
    stream = start(ollama)
    await stream.__anext__()
    del stream  # no aclose: garbage collection alone (refcounting, then gc below)
    await asyncio.sleep(0)


@pytest.mark.parametrize("leave", [by_break, by_aclose, by_cancel, by_gc])
def test_1000_abandoned_streams_leave_no_connection(
    fake_ollama: FakeOllama, leave: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fake_ollama.token_delay = 0.5  # the server would keep generating for seconds
    caplog.set_level(logging.WARNING, logger="asyncio")

    async def main() -> None:
        for _ in range(10):
            await asyncio.gather(*(leave(fake_ollama) for _ in range(25)))
        gc.collect()
        assert await fake_ollama.server.await_connections(0, timeout=10)

    for _ in range(4):  # 4 x 250 = 1,000 streams, over fresh event loops too
        asyncio.run(main())
    assert fake_ollama.server.total_connections >= 1000
    assert fake_ollama.server.open_connections == 0
    assert not [
        r for r in caplog.records if "destroyed" in r.getMessage() or "Unclosed" in r.getMessage()
    ], caplog.text


def test_a_cancelled_consumer_returns_promptly(fake_ollama: FakeOllama) -> None:
    # A model that takes far longer to load than any bound below: returning at all
    # within them proves the cancellation did not wait for the server.
    fake_ollama.first_byte_delay = 3600.0

    async def main() -> None:
        task = asyncio.create_task(by_break(fake_ollama))
        await fake_ollama.server.await_connections(1, timeout=60)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 60)
        assert await fake_ollama.server.await_connections(0, timeout=60)

    asyncio.run(main())


def test_works_under_uvloop(fake_ollama: FakeOllama) -> None:
    async def main() -> str:
        text = ""
        for _ in range(2):
            text = "".join([str(i) async for i in start(fake_ollama)])
        return text

    loop = uvloop.new_event_loop()
    try:
        text = loop.run_until_complete(main())
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
    assert text == "Hello! How can I help you today?"
    assert fake_ollama.server.total_connections == 1  # pooled within the loop


def test_pool_closes_with_its_loop_and_a_new_loop_gets_a_new_one(fake_ollama: FakeOllama) -> None:
    for _ in range(3):
        assert asyncio.run(by_aclose_all(fake_ollama)) == "Hello! How can I help you today?"
        assert fake_ollama.server.wait_until_connections(0, timeout=5)
    assert fake_ollama.server.total_connections == 3


async def by_aclose_all(ollama: FakeOllama) -> str:
    return "".join([str(i) async for i in start(ollama)])


def test_32_threads_make_one_request(fake_ollama: FakeOllama) -> None:
    fake_ollama.first_byte_delay = 0.3  # keep the first request in flight while others arrive
    results: list[list[str]] = []
    barrier = threading.Barrier(32)

    def worker() -> None:
        barrier.wait()
        results.append(Ollama.get_models(api_base=fake_ollama.url))

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 32
    assert all(r == results[0] for r in results) and results[0]
    assert fake_ollama.count("/api/tags") == 1
