"""Pytest fixtures for the test server; enable with ``pytest_plugins = ["tests.support.fixtures"]``
in the root ``conftest.py``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from .fake_ollama import FakeOllama
from .httpserver import HTTPServer

__all__ = ["closed_port", "fake_ollama", "httpserver"]


@pytest.fixture
def httpserver() -> Iterator[HTTPServer]:
    """A started bare server (404 for everything until a handler or faults are set)."""
    with HTTPServer() as server:
        yield server
    assert not server.errors, f"test server handler errors: {server.errors!r}"
    assert not server.running, "test server thread still alive after stop()"


@pytest.fixture
def fake_ollama(httpserver: HTTPServer) -> FakeOllama:
    """A FakeOllama (version 0.33.0, three models) on the ``httpserver`` fixture."""
    return FakeOllama(httpserver, seed=0)


@pytest.fixture
def closed_port() -> int:
    """A local port with nothing listening (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
