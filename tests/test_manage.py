"""Model management on Ollama: typed results from the fake server, async and sync forms."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ollama_provider import (
    ModelInfo,
    ModelNotFoundError,
    Ollama,
    PullProgress,
    RunningModel,
    ShowResult,
)
from ollama_provider._model_records import parse_time
from tests.conftest import run
from tests.support.fake_ollama import FakeOllama


def test_list_models_is_typed(fake_ollama: FakeOllama) -> None:
    models = Ollama.list_models_sync(fake_ollama.url)
    assert [m.name for m in models] == [m.name for m in fake_ollama.installed()]
    first = models[0]
    assert isinstance(first, ModelInfo) and first.size > 0 and first.digest
    assert first.details.family and first.details.parameter_size
    assert first.details.quantization_level
    assert isinstance(first.modified_at, datetime) and first.modified_at.tzinfo is not None


def test_show(fake_ollama: FakeOllama) -> None:
    result = run(Ollama.show("qwen3:0.6b", fake_ollama.url))
    assert isinstance(result, ShowResult) and result.model == "qwen3:0.6b"
    assert "thinking" in result.capabilities and "completion" in result.capabilities
    assert result.context_length and result.context_length > 0
    assert result.template and result.details.family
    assert Ollama.show_sync("qwen3:0.6b", fake_ollama.url) == result


def test_show_missing_model(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        Ollama.show_sync("nosuch", fake_ollama.url)
    assert info.value.model == "nosuch" and "ollama pull nosuch" in str(info.value)


def test_pull_progress_then_installed(fake_ollama: FakeOllama) -> None:
    async def pull() -> list[PullProgress]:
        return [p async for p in Ollama.pull("gemma3:1b", fake_ollama.url)]

    lines = run(pull())
    assert lines[0].status == "pulling manifest"
    layers = [p for p in lines if p.digest]
    assert layers and all(p.total for p in layers)
    completed = [p.completed for p in layers if p.completed is not None]
    assert completed == sorted(completed) or len({p.digest for p in layers}) > 1
    assert lines[-1].status == "success"
    assert "gemma3:1b" in Ollama.get_models(fake_ollama.url, refresh=True)


def test_pull_of_a_model_the_registry_lacks_raises(fake_ollama: FakeOllama) -> None:
    seen: list[PullProgress] = []
    with pytest.raises(ModelNotFoundError) as info:
        for progress in Ollama.pull_sync("no/such-model", fake_ollama.url):
            seen.append(progress)
    assert [p.status for p in seen] == ["pulling manifest"]
    assert info.value.server_message == "pull model manifest: file does not exist"
    assert info.value.model == "no/such-model" and info.value.status is None
    assert "Check the name" in info.value.advice and "ollama pull" not in str(info.value)


def test_load_ps_unload(fake_ollama: FakeOllama) -> None:
    assert Ollama.ps_sync(fake_ollama.url) == []
    Ollama.load_sync("llama3.2", fake_ollama.url, keep_alive="10m")
    running = Ollama.ps_sync(fake_ollama.url)
    assert [r.name for r in running] == ["llama3.2:latest"]
    assert isinstance(running[0], RunningModel) and running[0].size > 0
    assert running[0].expires_at is not None and running[0].expires_at > datetime.now(timezone.utc)
    assert fake_ollama.last_body("/api/generate")["keep_alive"] == "10m"
    Ollama.unload_sync("llama3.2", fake_ollama.url)
    assert fake_ollama.last_body("/api/generate")["keep_alive"] == 0
    assert Ollama.ps_sync(fake_ollama.url) == []


def test_version(fake_ollama: FakeOllama) -> None:
    fake_ollama.version = "0.12.3"
    assert Ollama.version_sync(fake_ollama.url) == "0.12.3"


def test_delete(fake_ollama: FakeOllama) -> None:
    Ollama.delete_sync("llava:7b", fake_ollama.url)
    assert "llava:7b" not in Ollama.get_models(fake_ollama.url, refresh=True)
    with pytest.raises(ModelNotFoundError):
        Ollama.delete_sync("llava:7b", fake_ollama.url)


def test_names_are_checked() -> None:
    with pytest.raises(ValueError, match="required"):
        Ollama.show_sync("")
    with pytest.raises(ValueError, match="control"):
        Ollama.show_sync("a\nb")


def test_go_times() -> None:
    assert parse_time("2025-05-04T17:37:44.706015396-07:00") == datetime(
        2025, 5, 5, 0, 37, 44, 706015, tzinfo=timezone.utc
    )
    assert parse_time("2025-07-07T20:22:19Z") == datetime(
        2025, 7, 7, 20, 22, 19, tzinfo=timezone.utc
    )
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_options_are_checked(fake_ollama: FakeOllama) -> None:
    with pytest.raises(TypeError, match="'tiemout'"):
        Ollama.version_sync(fake_ollama.url, tiemout=3)
    assert Ollama.version_sync(fake_ollama.url, timeout=3, headers={"X-A": "b"})
    assert fake_ollama.server.requests[-1].headers["X-A"] == "b"


def test_find_model_names_an_installed_model_as_the_server_spells_it(
    fake_ollama: FakeOllama,
) -> None:
    async def found(name: str) -> str | None:
        return await Ollama.find_model(name, fake_ollama.url)

    assert run(found("llama3.2")) == "llama3.2:latest"  # no tag means :latest
    assert run(found("qwen3:0.6b")) == "qwen3:0.6b"
    assert run(found("qwen3")) is None  # qwen3:latest is not installed
    assert run(found("hello")) is None


def test_copy_to_a_registry_with_a_port_adds_the_tag(fake_ollama: FakeOllama) -> None:
    """``host:port/ns/name`` has a colon but no tag: the copy is named ``...:latest``."""
    Ollama.copy_sync("llama3.2", "127.0.0.1:5000/me/tiny", fake_ollama.url)
    assert "127.0.0.1:5000/me/tiny:latest" in [m.name for m in fake_ollama.installed()]


def test_a_modelfile_s_requires_is_sent(fake_ollama: FakeOllama) -> None:
    base = fake_ollama.installed()[0].name
    modelfile = f"FROM {base}\nREQUIRES 0.24.0\nSYSTEM terse\n"
    steps = list(Ollama.create_sync("mine", fake_ollama.url, modelfile=modelfile))
    assert steps[-1].status == "success"
    sent = fake_ollama.last_body("/api/create")
    assert sent["requires"] == "0.24.0" and sent["from"] == base
