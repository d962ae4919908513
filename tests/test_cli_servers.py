"""The command with several servers: --host repeated or a list in OLLAMA_HOST."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.fake_ollama import FakeOllama
from tests.support.httpserver import HTTPServer
from tests.test_cli import cli_env, ok, run_cli


@pytest.fixture
def pair() -> Iterator[tuple[FakeOllama, FakeOllama]]:
    with HTTPServer() as one, HTTPServer() as two:
        yield (
            FakeOllama(one, models=["llama3.2", "qwen3:0.6b"]),
            FakeOllama(two, models=["gemma3:1b"], version="0.32.5"),
        )


def test_models_with_repeated_host_has_a_server_column(pair: tuple[FakeOllama, FakeOllama]) -> None:
    one, two = pair
    out = ok(run_cli("--host", one.url, "models", "--host", two.url))
    header, *rows = out.splitlines()
    assert header.split() == [
        "NAME", "SIZE", "FAMILY", "PARAMETERS", "QUANTIZATION", "MODIFIED", "SERVER",
    ]  # fmt: skip
    assert [(r.split()[0], r.split()[-1]) for r in rows] == [
        ("llama3.2:latest", one.url), ("qwen3:0.6b", one.url), ("gemma3:1b", two.url),
    ]  # fmt: skip
    data = json.loads(ok(run_cli("--host", one.url, "--host", two.url, "ls", "--json")))
    assert [m["server"] for m in data] == [one.url, one.url, two.url]


def test_a_list_in_ollama_host_routes_chat_by_model(pair: tuple[FakeOllama, FakeOllama]) -> None:
    one, two = pair
    env = cli_env(f"{one.url},{two.url}")
    assert ok(run_cli("chat", "-m", "gemma3:1b", "say: from two", env=env)) == "from two\n"
    assert two.count("/v1/chat/completions") == 1 and one.count("/v1/chat/completions") == 0
    versions = ok(run_cli("version", env=env)).splitlines()
    assert versions[:2] == [f"Ollama 0.33.0 at {one.url}", f"Ollama 0.32.5 at {two.url}"]


def test_ps_says_where_each_model_runs(pair: tuple[FakeOllama, FakeOllama]) -> None:
    one, two = pair
    ok(run_cli("--host", one.url, "--host", two.url, "chat", "-m", "gemma3:1b", "hi"))
    out = ok(run_cli("--host", one.url, "--host", two.url, "ps"))
    assert out.splitlines()[0].split()[-1] == "SERVER"
    assert out.splitlines()[1].split()[0] == "gemma3:1b" and out.splitlines()[1].endswith(two.url)


def test_doctor_checks_each_server(pair: tuple[FakeOllama, FakeOllama], closed_port: int) -> None:
    one, _ = pair
    dead = f"http://127.0.0.1:{closed_port}"
    proc = run_cli("doctor", env=cli_env(f"{one.url},{dead}"))
    assert proc.returncode == 1
    blocks = proc.stdout.split("\n\n")
    assert blocks[0].startswith(f"server     {one.url}\n") and "reachable  yes" in blocks[0]
    assert blocks[1].startswith(f"server     {dead}\n") and "reachable  no" in blocks[1]
    assert f"problem: cannot reach {dead}/api/version" in proc.stdout
    assert proc.stdout.endswith("1 problem found\n")
