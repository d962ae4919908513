"""Shared fixtures: a clean environment per test, and the test servers."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Coroutine, Iterator
from datetime import datetime, timezone
from typing import Any, TypeVar

import pytest

from ollama_provider import Ollama, RunningModel, _state

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


def settled_ps(url: str, within: float = 30.0) -> list[RunningModel]:
    """``ps`` once no listed model has already expired: the real server answers an
    unload (keep_alive 0) at once and drops the runner a moment later (measured:
    50-80 ms), listing it meanwhile with ``expires_at`` in the past. Waits up to
    ``within`` seconds, a bound far above that moment."""
    deadline = time.monotonic() + within
    while True:
        running = Ollama.ps_sync(url)
        now = datetime.now(timezone.utc)
        if not any(r.expires_at is not None and r.expires_at <= now for r in running):
            return running
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    raise AssertionError(
        f"the server at {url} still lists expired models after {within} s: {running}"
    )


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


@pytest.fixture(scope="session")
def real_ollama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The real Ollama server (v0.24.0, built from source with Go) with ``smollm2:135m``.

    Without Go it is skipped, with one line saying how to enable it; under
    ``CI=true`` that fails instead, as does any build or start failure.
    """
    from scripts.backends import ollama

    try:  # start() builds Ollama first if need be: OllamaUnavailable means no Go
        server = ollama.start(log_path=tmp_path_factory.mktemp("ollama") / "ollama-serve.log")
    except ollama.OllamaUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true, so the real-Ollama tests may not skip: {exc}")
        pytest.skip(f"{_NO_OLLAMA}{exc}")
    try:
        yield server
    finally:
        server.stop()


_NO_OLLAMA = "real-Ollama tests: "
_HERE = (__file__, inspect.getsourcelines(real_ollama)[1])
_SERVER_LOGS = {
    "llama": "llama-server",
    "real_ollama": "ollama serve",
    "ollama_target": "server",
    "stack": "LiteLLM proxy",
}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    longrepr = report.longrepr
    ci = os.environ.get("CI", "").lower() == "true"
    if report.skipped and ci and not hasattr(report, "wasxfail"):
        # Under CI a skipped test is a test that did not run: it fails the run instead.
        report.outcome = "failed"
        report.longrepr = f"CI=true, and this test was skipped: {longrepr}"
        return report
    if report.skipped and isinstance(longrepr, tuple) and _NO_OLLAMA in longrepr[2]:
        report.longrepr = (*_HERE, longrepr[2])  # one summary line for all of them, not one each
    if report.failed:
        for name, label in _SERVER_LOGS.items():
            server = getattr(item, "funcargs", {}).get(name)
            if server is not None and hasattr(server, "log_tail"):
                report.sections.append((f"{label} log (tail)", server.log_tail(60)))
    return report
