"""Shared fixtures: a clean environment per test, and the test servers."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from ollama_provider import _state

pytest_plugins = ["tests.support.fixtures"]
T = TypeVar("T")

_ENV = (
    "OLLAMA_HOST",
    "OLLAMA_PORT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "NO_COLOR",
)


@pytest.fixture(autouse=True)
def clean_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's Ollama settings or another test's cached model list."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    _state.reset()
    yield
    _state.reset()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """llama.cpp's real HTTP server (the ``xllamacpp`` wheel) with SmolLM2-135M.

    Never skipped: if it cannot start, the tests that need it fail, with its log attached.
    """
    from scripts.backends import llama

    log = tmp_path_factory.mktemp("llama") / "llama-server.log"
    server = llama.start(log_path=log)
    try:
        yield server
    finally:
        server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    server = getattr(item, "funcargs", {}).get("llama")
    if report.failed and server is not None:
        report.sections.append(("llama-server log (tail)", server.log_tail(60)))
    return report
