"""gpt4free (g4f) drives ``ollama_provider.Ollama`` itself: its clients, RetryProvider, API server.

g4f is imported offline: what it fetches at import or call time is turned off
through its own settings (see the ``g4f`` fixture), and a guard fails any test
during which something looked up a host outside this machine.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import ollama_provider
from ollama_provider import (
    FinishReason,
    ModelNotFoundError,
    Ollama,
    OpenaiAPI,
    ProviderTimeoutError,
    Reasoning,
    ServerUnreachableError,
    ToolCalls,
    Usage,
)
from tests.conftest import run
from tests.support import faults
from tests.support.fake_ollama import FakeOllama
from tests.support.httpserver import HTTPServer
from tests.support.ollama_brain import THINKING_TEXT

HI = [{"role": "user", "content": "say: Hi there"}]
TEN = [{"role": "user", "content": "say: one two three four five six seven eight nine ten"}]
CALL = [{"role": "user", "content": 'call: get_weather {"city": "Rome"}'}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))
# g4f 7's API module imports a name starlette has since deprecated; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:'HTTP_422_UNPROCESSABLE_ENTITY' is deprecated")
MODES = [(False, False), (False, True), (True, False), (True, True)]  # (async?, stream?)

# -- g4f, offline ------------------------------------------------------------------

_LOOKUPS: list[str] = []


def _outside(host: object) -> bool:
    if host is None or host in ("localhost", b"localhost"):
        return False
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        return not ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return True  # a name: only localhost stays on this machine


@pytest.fixture(scope="module")
def g4f(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """g4f imported and set up offline; its config, cache and usage log in a temporary folder.

    What g4f would fetch, found by reading it (7.0 to 8.8):
    - ``get_model_and_provider`` (g4f.ChatCompletion) starts a thread asking PyPI and
      GitHub for g4f's latest version: ``g4f.debug.version_check = False``.
    - importing ``g4f.api`` (8.x) loads its G4FSpace provider, which downloads g4f.dev's
      providers.json unless the client factory already holds one: a stand-in, whose one
      entry points at a closed loopback port.
    - every chat appends to a usage log under the cookies folder: ``set_cookies_dir``.
    Name lookups of any other host fail at once and are recorded (see ``offline``).
    """
    home = tmp_path_factory.mktemp("g4f")
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if _outside(host):
            _LOOKUPS.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: outside lookups are off in tests")
        return real_getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", guarded)
        mp.setenv("G4F_CONFIG_DIR", str(home / "config"))  # read when g4f is first imported
        mp.setenv("G4F_CACHE_DIR", str(home / "cache"))
        import g4f.client
        import g4f.debug
        from g4f.cookies import set_cookies_dir

        mp.setattr(g4f.debug, "version_check", False)
        factory = getattr(g4f.client, "AbstractClientFactory", None) or g4f.client.ClientFactory
        closed = {"default": {"baseUrl": "http://127.0.0.1:9/v1"}}
        mp.setattr(factory, "_live_providers", {"providers": closed, "defaultModels": {}})
        set_cookies_dir(str(home / "cookies"))
        from g4f.Provider import RetryProvider
        from g4f.providers import response

        yield SimpleNamespace(
            Client=g4f.client.Client,
            AsyncClient=g4f.client.AsyncClient,
            RetryProvider=RetryProvider,
            response=response,
            module=sys.modules["g4f"],
        )


@pytest.fixture(autouse=True)
def offline(g4f: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test looks up a host outside this machine; g4f's counters start at zero."""
    _LOOKUPS.clear()
    for name in ("OLLAMA_API_KEY", "OPENAIAPI_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)  # g4f would pass them on as api_key
    monkeypatch.delenv("G4F_PROXY", raising=False)
    for cls in (Ollama, OpenaiAPI):
        monkeypatch.setattr(cls, "live", 0)
    yield
    assert _LOOKUPS == [], f"looked up hosts outside this machine: {_LOOKUPS}"


# -- what a g4f caller sees ----------------------------------------------------------


@dataclass
class Answer:
    """A g4f chat completion, streamed or not, reduced to what a caller reads."""

    content: str
    reasoning: str
    finish: str | None
    usage: tuple[int, int, int] | None
    tool_calls: list[Any]
    provider: str | None = None


def _usage(usage: Any) -> tuple[int, int, int] | None:
    if usage is None:
        return None
    return (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


def _answer(result: Any, stream: bool) -> Answer:
    if not stream:
        message = result.choices[0].message
        return Answer(
            str(message.content or ""),
            str(message.reasoning or ""),
            result.choices[0].finish_reason,
            _usage(result.usage),
            list(message.tool_calls or []),
            result.provider,
        )
    chunks = list(result)
    deltas = [c.choices[0].delta for c in chunks]
    return Answer(
        "".join(d.content or "" for d in deltas if isinstance(d.content, str)),
        "".join(d.reasoning or "" for d in deltas),
        chunks[-1].choices[0].finish_reason,
        _usage(getattr(chunks[-1], "usage", None)),
        [call for d in deltas for call in (d.tool_calls or [])],
        chunks[0].provider,
    )


def ask(g4f: SimpleNamespace, provider: Any, is_async: bool, stream: bool, **kwargs: Any) -> Answer:
    """One completion through g4f's Client or AsyncClient."""
    if not is_async:
        result = g4f.Client(provider=provider).chat.completions.create(stream=stream, **kwargs)
        return _answer(result, stream)

    async def go() -> Answer:
        completions = g4f.AsyncClient(provider=provider).chat.completions
        if stream:
            return _answer([c async for c in completions.create(stream=True, **kwargs)], True)
        return _answer(await completions.create(**kwargs), False)

    return run(go())


def direct(model: str, messages: list[Any], **kwargs: Any) -> list[Any]:
    """The same call made directly: what the server sent, in this library's items."""
    return list(Ollama.create_completion(model, messages, **kwargs))


def server_usage(items: list[Any]) -> tuple[int, int, int]:
    (usage,) = [i for i in items if isinstance(i, Usage)]
    return (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


# -- the clients ---------------------------------------------------------------------


@pytest.mark.parametrize(("is_async", "stream"), MODES)
def test_text_reasoning_finish_and_usage_as_the_server_sent_them(
    g4f: SimpleNamespace, fake_ollama: FakeOllama, is_async: bool, stream: bool
) -> None:
    sent = direct("qwen3:0.6b", HI, api_base=fake_ollama.url, stream=stream)
    answer = ask(
        g4f, Ollama, is_async, stream, model="qwen3:0.6b", messages=HI, base_url=fake_ollama.url
    )
    assert answer.content == "Hi there" == "".join(i for i in sent if isinstance(i, str))
    assert answer.reasoning == THINKING_TEXT
    assert answer.finish == "stop" and FinishReason("stop") in sent
    assert answer.usage == server_usage(sent)
    assert answer.tool_calls == []
    body = fake_ollama.last_body("/v1/chat/completions")
    assert body["stream"] is stream and body["model"] == "qwen3:0.6b"
    assert set(body) <= {"model", "messages", "stream", "stream_options"}  # no g4f bookkeeping


@pytest.mark.parametrize(("is_async", "stream"), MODES)
def test_a_length_limit_keeps_the_servers_finish_and_usage(
    g4f: SimpleNamespace, fake_ollama: FakeOllama, is_async: bool, stream: bool
) -> None:
    # g4f's client counts chunks itself and stops reading at max_tokens of them.
    sent = direct("llama3.2", TEN, api_base=fake_ollama.url, max_tokens=6)
    answer = ask(
        g4f, Ollama, is_async, stream, model="llama3.2", messages=TEN, max_tokens=6,
        base_url=fake_ollama.url,
    )  # fmt: skip
    assert answer.content == "one two three four five six "
    assert answer.finish == "length" and FinishReason("length") in sent
    assert answer.usage == server_usage(sent) and answer.usage[1] == 6
    assert fake_ollama.last_body("/v1/chat/completions")["max_tokens"] == 6


@pytest.mark.parametrize(("is_async", "stream"), MODES)
def test_tool_calls_reach_the_server_and_come_back(
    g4f: SimpleNamespace, fake_ollama: FakeOllama, is_async: bool, stream: bool
) -> None:
    answer = ask(
        g4f, Ollama, is_async, stream, model="qwen3:0.6b", messages=CALL, tools=TOOLS,
        base_url=fake_ollama.url,
    )  # fmt: skip
    (call,) = answer.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert getattr(call, "index", 0) == 0  # g4f 7 has no index field
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Rome"}
    assert answer.finish == "tool_calls" and answer.content == ""
    body = fake_ollama.last_body("/v1/chat/completions")
    assert body["tools"][0]["function"]["name"] == "get_weather"  # native, not in the prompt
    assert body["messages"] == CALL


@pytest.mark.parametrize("is_async", [False, True])
def test_images_passed_g4fs_way_reach_the_model(
    g4f: SimpleNamespace, fake_ollama: FakeOllama, is_async: bool
) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG[:20]).decode()
    ask_image = [{"role": "user", "content": "What is this?"}]
    kwargs: dict[str, Any] = {"model": "llava:7b", "base_url": fake_ollama.url}
    one = ask(g4f, Ollama, is_async, False, messages=ask_image, image=PNG, **kwargs)
    assert one.content == f"I see 1 image(s) of {len(PNG)} bytes"
    media = [(PNG, "a.png"), (data_url, "b.png")]
    two = ask(g4f, Ollama, is_async, False, messages=ask_image, media=media, **kwargs)
    assert two.content == f"I see 2 image(s) of {len(PNG) + 20} bytes"
    (message,) = fake_ollama.last_body("/v1/chat/completions")["messages"]
    urls = [p["image_url"]["url"] for p in message["content"] if p["type"] == "image_url"]
    assert urls == ["data:image/png;base64," + base64.b64encode(PNG).decode(), data_url]
    assert {"type": "text", "text": "What is this?"} in message["content"]
    assert ask_image == [{"role": "user", "content": "What is this?"}]  # not modified


def test_audio_media_is_refused_with_its_name(
    g4f: SimpleNamespace, fake_ollama: FakeOllama
) -> None:
    with pytest.raises(ValueError, match=r"'speech\.mp3' is audio"):
        ask(g4f, Ollama, False, False, model="llava:7b", messages=HI, base_url=fake_ollama.url,
            media=[(b"ID3...", "speech.mp3")])  # fmt: skip
    assert fake_ollama.count("/v1/chat/completions") == 0


def test_ollama_host_is_used_without_base_url(
    g4f: SimpleNamespace, fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    # The async client names the provider (g4f's sync one forgets it): get_dict at work.
    answer = ask(g4f, Ollama, True, False, model="llama3.2", messages=HI)
    assert (answer.content, answer.provider) == ("Hi there", "Ollama")


def test_the_sync_client_inside_a_running_loop_leaves_the_loop_alone(
    g4f: SimpleNamespace, fake_ollama: FakeOllama
) -> None:
    # g4f runs a provider's async generator itself by patching the running loop
    # (nest_asyncio); it calls create_completion instead, which has its own loop.
    async def inside() -> tuple[str, bool]:
        answer = ask(g4f, Ollama, False, True, model="llama3.2", messages=HI,
                     base_url=fake_ollama.url)  # fmt: skip
        loop = asyncio.get_running_loop()
        return answer.content, hasattr(type(loop), "_nest_patched")

    assert run(inside()) == ("Hi there", False)


# -- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(("is_async", "stream"), MODES)
def test_a_missing_model_is_our_error_with_its_message(
    g4f: SimpleNamespace, fake_ollama: FakeOllama, is_async: bool, stream: bool
) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        ask(g4f, Ollama, is_async, stream, model="nope", messages=HI, base_url=fake_ollama.url)
    assert caught.value.model == "nope"
    assert "ollama pull nope" in str(caught.value)
    assert Ollama.live == -1  # g4f's failure count


@pytest.mark.parametrize("is_async", [False, True])
def test_a_server_that_is_down_is_our_error(
    g4f: SimpleNamespace, closed_port: int, is_async: bool
) -> None:
    with pytest.raises(ServerUnreachableError, match="ollama serve"):
        ask(g4f, Ollama, is_async, False, model="llama3.2", messages=HI,
            base_url=f"http://127.0.0.1:{closed_port}")  # fmt: skip


def test_g4fs_timeout_is_the_first_byte_wait(g4f: SimpleNamespace, httpserver: HTTPServer) -> None:
    httpserver.add_fault("/v1/chat/completions", faults.headers_then_stall())
    with pytest.raises(ProviderTimeoutError) as caught:
        ask(g4f, Ollama, True, False, model="llama3.2", messages=HI, base_url=httpserver.url,
            timeout=0.5)  # fmt: skip
    assert (caught.value.phase, caught.value.timeout) == ("first byte", 0.5)


def test_g4fs_stream_timeout_is_the_wait_between_chunks(
    g4f: SimpleNamespace, httpserver: HTTPServer
) -> None:
    # g4f's sync client adds no timer of its own (its async one wraps each chunk's wait in
    # asyncio.wait_for when a stream_timeout is given, and re-raises a plain TimeoutError).
    pieces = [f'data: {{"choices":[{{"index":0,"delta":{{"content":"{t}"}}}}]}}\n\n' for t in "Hi"]
    httpserver.add_fault("/v1/chat/completions", faults.stream_then_stall(pieces))
    with pytest.raises(ProviderTimeoutError) as caught:
        ask(g4f, Ollama, False, True, model="llama3.2", messages=HI, base_url=httpserver.url,
            timeout=600, stream_timeout=0.5)  # fmt: skip
    assert (caught.value.phase, caught.value.timeout) == ("between chunks", 0.5)
    assert caught.value.partial == "Hi"


# -- RetryProvider and model lists ---------------------------------------------------


def test_retry_provider_uses_ollama(g4f: SimpleNamespace, fake_ollama: FakeOllama) -> None:
    retry = g4f.RetryProvider([Ollama], shuffle=False)
    for is_async, stream in MODES:
        answer = ask(g4f, retry, is_async, stream, model="llama3.2", messages=HI,
                     base_url=fake_ollama.url)  # fmt: skip
        assert (answer.content, answer.finish) == ("Hi there", "stop")
        assert answer.usage == (13, 2, 15)


def test_retry_provider_moves_on_from_ollama_and_keeps_its_error(
    g4f: SimpleNamespace, fake_ollama: FakeOllama, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from g4f.client import create_custom_provider

    other = create_custom_provider(fake_ollama.url + "/v1", name="FakeOpenAI")  # g4f's own
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{closed_port}")
    retry = g4f.RetryProvider([Ollama, other], shuffle=False)
    answer = ask(g4f, retry, True, False, model="llama3.2", messages=HI)
    assert answer.content == "Hi there"
    alone = g4f.RetryProvider([Ollama], shuffle=False)
    with pytest.raises(ServerUnreachableError):  # one provider: its error as it is
        ask(g4f, alone, True, False, model="llama3.2", messages=HI)


def test_model_listing_through_g4f(g4f: SimpleNamespace, fake_ollama: FakeOllama) -> None:
    names = [m.name for m in fake_ollama.installed()]
    client = g4f.Client(provider=Ollama)
    assert client.models.get_all(api_base=fake_ollama.url) == names
    assert Ollama.default_model == names[0]


# -- g4f's API server ------------------------------------------------------------------


@pytest.fixture
def g4f_names(g4f: SimpleNamespace) -> Iterator[Callable[..., None]]:
    """``register_g4f``, undone afterwards: g4f's registry of names is left as it was."""
    from g4f import Provider

    loader = getattr(Provider, "ProviderLoader", None)  # the registry's shape: see register_g4f
    registry = (
        loader.loaded
        if loader is not None
        else vars(Provider).get("_loaded_providers", Provider.ProviderUtils.convert)
    )
    saved = dict(registry)
    yield ollama_provider.register_g4f
    registry.clear()
    registry.update(saved)


@pytest.fixture
def api(
    g4f_names: Callable[..., None], fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """g4f's FastAPI app, in-process, with "Ollama" meaning this library's class."""
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    g4f_names()
    import g4f.api
    from fastapi.testclient import TestClient

    with TestClient(g4f.api.create_app()) as client:
        yield client


def test_api_server_chat_completion(api: Any, fake_ollama: FakeOllama) -> None:
    request = {"model": "qwen3:0.6b", "provider": "Ollama", "messages": HI}
    reply = api.post("/v1/chat/completions", json=request)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["provider"] == "Ollama" and answer["model"] == "qwen3:0.6b"
    message = answer["choices"][0]["message"]
    assert (message["content"], message["reasoning"]) == ("Hi there", THINKING_TEXT)
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert (answer["usage"]["prompt_tokens"], answer["usage"]["completion_tokens"]) == (13, 7)
    assert fake_ollama.last_body("/v1/chat/completions")["stream"] is False


def test_api_server_streamed_chat_completion(api: Any, fake_ollama: FakeOllama) -> None:
    request = {"model": "llama3.2", "provider": "Ollama", "messages": HI, "stream": True}
    reply = api.post("/v1/chat/completions", json=request)
    assert reply.status_code == 200, reply.text
    events = [line[6:] for line in reply.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks)
    assert text == "Hi there"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == 2
    assert {c["provider"] for c in chunks} == {"Ollama"}
    assert fake_ollama.last_body("/v1/chat/completions")["stream"] is True


def test_api_server_errors_are_ours_in_its_log(api: Any, caplog: pytest.LogCaptureFixture) -> None:
    # g4f 8.5 and later answer with a bare "Request execution failed" on purpose.
    request = {"model": "nope", "provider": "Ollama", "messages": HI}
    reply = api.post("/v1/chat/completions", json=request)
    assert reply.status_code == 500 and "error" in reply.json()
    logged = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert any(isinstance(e, ModelNotFoundError) and e.model == "nope" for e in logged)


def test_api_server_lists_the_models(api: Any, fake_ollama: FakeOllama) -> None:
    reply = api.get("/api/Ollama/models")
    assert reply.status_code == 200, reply.text
    assert [m["id"] for m in reply.json()["data"]] == [m.name for m in fake_ollama.installed()]


def test_the_readme_example_runs_as_written(
    g4f: SimpleNamespace,
    fake_ollama: FakeOllama,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use with gpt4free", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    exec(code, {"__name__": "readme"})  # noqa: S102 - the README's own example
    names = [m.name for m in fake_ollama.installed()]
    assert capsys.readouterr().out == f"Hello! How can I help you today?\nstop 7\n{names}\n"


# -- direct callers keep their contract ----------------------------------------------


def test_direct_use_never_imports_g4f(fake_ollama: FakeOllama) -> None:
    code = (
        "import sys\n"
        "from ollama_provider import Ollama\n"
        f"items = list(Ollama.create_completion('llama3.2', {HI!r}, {fake_ollama.url!r}))\n"
        "assert ''.join(i for i in items if isinstance(i, str)) == 'Hi there', items\n"
        "print([m for m in sys.modules if m == 'g4f' or m.startswith('g4f.')])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_direct_callers_still_get_this_librarys_events(
    g4f: SimpleNamespace, fake_ollama: FakeOllama
) -> None:
    items = direct("qwen3:0.6b", CALL, api_base=fake_ollama.url, tools=TOOLS)
    events = [i for i in items if not isinstance(i, str)]
    assert {type(e) for e in events} == {Reasoning, ToolCalls, FinishReason, Usage}
    assert all(str(e) == "" for e in events)
    assert not any(type(e).__module__.startswith("g4f") for e in events)


@pytest.mark.parametrize("name", ["provider", "base_url", "media", "ignored", "stream_timeout"])
def test_g4fs_keywords_are_still_unknown_to_direct_callers(g4f: SimpleNamespace, name: str) -> None:
    with pytest.raises(TypeError, match=repr(name)):
        Ollama.create_async_generator("llama3.2", HI, **{name: None})


def test_g4f_callers_get_a_type_error_for_what_is_not_bookkeeping(
    g4f: SimpleNamespace, fake_ollama: FakeOllama
) -> None:
    with pytest.raises(TypeError, match="'modalities'"):
        ask(g4f, Ollama, False, False, model="llama3.2", messages=HI, base_url=fake_ollama.url,
            modalities=["text", "audio"])  # fmt: skip


def test_code_in_a_g4f_module_is_g4f(g4f: SimpleNamespace, fake_ollama: FakeOllama) -> None:
    # The caller is known by its module: the nearest frame outside this package.
    code = "items = list(Ollama.create_completion('llama3.2', HI, base_url=URL, provider=Ollama))"
    scope = {"__name__": "g4f.elsewhere", "Ollama": Ollama, "HI": HI, "URL": fake_ollama.url}
    exec(code, scope)  # noqa: S102 - the point is the module name of the calling frame
    kinds = {type(i) for i in scope["items"]}
    assert kinds == {str, g4f.response.FinishReason, g4f.response.Usage}
    scope["__name__"] = "g4f_lookalike"
    with pytest.raises(TypeError, match="'base_url'"):
        exec(code, scope)  # noqa: S102


# -- what g4f reads on a provider ----------------------------------------------------

#: Read by g4f and defined by the providers.
PROVIDED = {
    "__name__", "__class__", "url", "label", "login_url", "needs_auth", "working",
    "supports_stream", "default_model", "models", "get_models", "get_dict", "get_parent",
    "live", "use_stream_timeout", "supports_native_tools", "model_aliases",
    "create_completion", "create_async_generator", "create_function", "async_create_function",
}  # fmt: skip
#: Read by g4f with a default (getattr, hasattr): not needed.
OPTIONAL = {
    "models_aliases", "image_models", "vision_models", "audio_models", "video_models",
    "models_count", "default_vision_model", "get_parameters",
}  # fmt: skip


def test_g4f_reads_no_attribute_it_did_not_read_before(
    g4f: SimpleNamespace,
    g4f_names: Callable[..., None],
    fake_ollama: FakeOllama,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every attribute g4f reads on the class, through every path tested here, is known.

    A failure names what a new g4f version reads: define it on the providers (or add it
    to OPTIONAL when g4f reads it with a default), then check what it expects.
    """
    reads: set[str] = set()

    class Recording(type):
        def __getattribute__(cls, name: str) -> Any:
            if str(sys._getframe(1).f_globals.get("__name__", "")).startswith("g4f"):
                reads.add(name)
            return super().__getattribute__(name)

    class Recorded(Ollama, metaclass=Recording):
        pass

    Recorded.__name__ = "Ollama"
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    for is_async, stream in MODES:
        ask(g4f, Recorded, is_async, stream, model="llama3.2", messages=HI, tools=TOOLS)
        retry = g4f.RetryProvider([Recorded], shuffle=False)
        ask(g4f, retry, is_async, stream, model="llama3.2", messages=HI)
    g4f.Client(provider=Recorded).models.get_all()
    assert g4f.module.ChatCompletion.create("llama3.2", HI, provider=Recorded) == "Hi there"
    g4f_names(Recorded)
    import g4f.api
    from fastapi.testclient import TestClient

    with TestClient(g4f.api.create_app()) as client:
        for stream in (False, True):
            request = {"model": "llama3.2", "provider": "Ollama", "messages": HI, "stream": stream}
            assert client.post("/v1/chat/completions", json=request).status_code == 200
        assert client.get("/api/Ollama/models").status_code == 200
    assert reads - PROVIDED - OPTIONAL == set()
    assert {"get_dict", "get_parent", "live"} <= reads  # the recording works
    assert {"create_async_generator", "async_create_function"} & reads  # 8.x, 7.x
    for name in PROVIDED:
        assert hasattr(Ollama, name) and hasattr(OpenaiAPI, name), name


# -- the real server -----------------------------------------------------------------

MODEL = "smollm2:135m"
ASK = [{"role": "user", "content": "Write one sentence about the sea."}]


@pytest.mark.parametrize(("is_async", "stream"), MODES)
def test_a_real_server_through_g4f(g4f: SimpleNamespace, llama: Any, is_async: bool,
                                   stream: bool) -> None:  # fmt: skip
    fixed: dict[str, Any] = {"temperature": 0, "seed": 1, "max_tokens": 12}
    sent = direct(MODEL, ASK, api_base=llama.base_url, stream=stream, **fixed)
    answer = ask(g4f, Ollama, is_async, stream, model=MODEL, messages=ASK,
                 base_url=llama.base_url, **fixed)  # fmt: skip
    assert answer.content == "".join(i for i in sent if isinstance(i, str))
    assert answer.content.strip()
    assert answer.finish == "length" and FinishReason("length") in sent
    assert answer.usage == server_usage(sent) and answer.usage[1] == 12


def test_a_real_servers_natural_stop_through_g4f(g4f: SimpleNamespace, llama: Any) -> None:
    fixed: dict[str, Any] = {"temperature": 0, "seed": 1, "max_tokens": 200}
    messages = [{"role": "user", "content": "Say hello."}]
    sent = direct(MODEL, messages, api_base=llama.base_url, **fixed)
    answer = ask(g4f, OpenaiAPI, True, True, model=MODEL, messages=messages,
                 base_url=llama.base_url, **fixed)  # fmt: skip
    assert answer.content == "".join(i for i in sent if isinstance(i, str))
    assert answer.finish == "stop" and FinishReason("stop") in sent
    assert answer.usage == server_usage(sent)
