"""Secrets never leak; redirects, TLS, proxies and logging behave as users expect."""

from __future__ import annotations

import base64
import logging
import ssl
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ollama_provider import Ollama, ProviderError, ServerUnreachableError
from tests.support import faults
from tests.support.fake_ollama import FakeOllama
from tests.support.httpmsg import Connection, Request, Response
from tests.support.httpserver import HTTPServer

KEY = "sk-SECRET-api-key-0123456789"
USER, PASSWORD = "alice", "pa55w0rd-SECRET"
SECRETS = [KEY, PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()]
MESSAGES = [{"role": "user", "content": "Hi"}]


def echo(status: int, *, html: bool = False, stream: bool = False) -> Any:
    """A server that puts the Authorization header it received into its answer."""

    async def fault(request: Request, conn: Connection) -> bool:
        seen = request.headers.get("Authorization", "")
        response = Response(request)
        if html:
            page = f"<html><title>Denied for {seen}</title><body>{seen}</body></html>"
            await response.send(status, page.encode(), "text/html")
        elif stream:
            await response.start_stream(200, "text/event-stream")
            await response.write_chunk(b'data: {"choices":[{"delta":{"content":"x"}}]}\n\n')
            await response.write_chunk(f'data: {{"error":"bad token {seen}"}}\n\n'.encode())
            await response.end_stream()
        else:
            body = f'{{"error":"invalid credentials: {seen} (api_key={KEY})"}}'
            await response.send(status, body.encode(), "application/json")
        return False

    return fault


def everything_emitted(error: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    texts = [caplog.text, "".join(traceback.format_exception(error))]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args), repr(vars(current))]
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


@pytest.mark.parametrize(
    "scenario", ["json 401", "html 403", "stream error", "redirect", "refused", "timeout"]
)
@pytest.mark.parametrize("credential", ["api_key", "url"])
def test_no_secret_anywhere(
    httpserver: HTTPServer,
    closed_port: int,
    debug_logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    scenario: str,
    credential: str,
) -> None:
    port = closed_port if scenario == "refused" else httpserver.port
    kwargs: dict[str, Any] = {"timeout": 0.5}
    if credential == "api_key":
        kwargs["api_key"] = KEY
        monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port}")
    else:
        monkeypatch.setenv("OLLAMA_HOST", f"http://{USER}:{PASSWORD}@127.0.0.1:{port}")
    route = "/v1/chat/completions"
    if scenario == "json 401":
        httpserver.add_fault(route, echo(401))
    elif scenario == "html 403":
        httpserver.add_fault(route, echo(403, html=True))
    elif scenario == "stream error":
        httpserver.add_fault(route, echo(200, stream=True))
    elif scenario == "redirect":
        location = f"http://{USER}:{PASSWORD}@elsewhere.example/?api_key={KEY}"
        httpserver.add_fault(route, faults.status(302, b"", "text/plain", {"Location": location}))
    elif scenario == "timeout":
        httpserver.add_fault(route, faults.never_respond())
    with pytest.raises(ProviderError) as info:
        list(Ollama.create_completion("llama3.2", MESSAGES, **kwargs))
    emitted = everything_emitted(info.value, debug_logs)
    for secret in SECRETS:
        assert secret not in emitted, scenario
    assert "127.0.0.1" in emitted  # the messages still say where


def test_models_401_echo_never_shows_the_key(
    fake_ollama: FakeOllama, debug_logs: pytest.LogCaptureFixture
) -> None:
    fake_ollama.auth = "right-token-value"
    with pytest.raises(ProviderError) as info:
        Ollama.get_models(api_base=fake_ollama.url, api_key=KEY)
    assert KEY not in everything_emitted(info.value, debug_logs)


# -- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_ollama(certificate: tuple[Path, Path]) -> Iterator[FakeOllama]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    with HTTPServer(ssl_context=context) as server:
        yield FakeOllama(server)


# CPython 3.10's SSL transport never marks itself closed when the peer drops a kept-alive
# connection, and warns when collected (3.11 rewrote sslproto). Harmless, and only there.
def _py310_ssl_warning(test: Any) -> Any:
    if sys.version_info >= (3, 11):
        return test
    ignore = (
        "ignore:Exception ignored in.*_SSLProtocolTransport:pytest.PytestUnraisableExceptionWarning"
    )
    return pytest.mark.filterwarnings(ignore)(test)


@_py310_ssl_warning
def test_tls_is_verified_by_default(https_ollama: FakeOllama) -> None:
    assert https_ollama.url.startswith("https://")
    with pytest.raises(ServerUnreachableError) as info:
        Ollama.get_models(api_base=https_ollama.url)
    assert "certificate" in str(info.value) and "verify=" in str(info.value)


@_py310_ssl_warning
def test_tls_with_a_ca_bundle_or_verification_off(
    https_ollama: FakeOllama, certificate: tuple[Path, Path]
) -> None:
    names = [m.name for m in https_ollama.installed()]
    assert Ollama.get_models(api_base=https_ollama.url, verify=str(certificate[0])) == names
    items = list(
        Ollama.create_completion("llama3.2", MESSAGES, api_base=https_ollama.url, verify=False)
    )
    assert "".join(map(str, items)) == "Hello! How can I help you today?"


# -- proxies -------------------------------------------------------------------------------------


@pytest.fixture
def proxy() -> Iterator[tuple[FakeOllama, list[str]]]:
    """A forward proxy stand-in: it answers as Ollama and records the request targets."""
    targets: list[str] = []

    def record(request: Request) -> bool:
        targets.append(request.target)
        return False

    with HTTPServer() as server:
        server.add_fault(record, faults.never_respond(), times=None)
        yield FakeOllama(server), targets


def test_environment_proxy_is_used_for_remote_hosts(
    proxy: tuple[FakeOllama, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy[0].server.url)
    names = Ollama.get_models(api_base="http://ollama.remote.example:11434")
    assert names == [m.name for m in proxy[0].installed()]
    assert proxy[1] == ["http://ollama.remote.example:11434/api/tags"]


def test_no_proxy_and_loopback_bypass_the_proxy(
    proxy: tuple[FakeOllama, list[str]], fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy[0].server.url)
    assert Ollama.get_models(api_base=fake_ollama.url)  # loopback: direct
    monkeypatch.setenv("NO_PROXY", "remote.example")
    with pytest.raises(ServerUnreachableError):  # direct, and the name does not resolve
        Ollama.get_models(api_base="http://ollama.remote.example:11434")
    assert proxy[1] == []


def test_explicit_proxy_argument(
    proxy: tuple[FakeOllama, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Ollama.get_models(api_base="http://127.0.0.1:9", proxy=proxy[0].server.url)
    assert proxy[1] == ["http://127.0.0.1:9/api/tags"]
    monkeypatch.setenv("HTTP_PROXY", proxy[0].server.url)
    with pytest.raises(ServerUnreachableError):
        Ollama.get_models(api_base="http://ollama.remote.example:1", proxy=False, refresh=True)
    assert len(proxy[1]) == 1


def test_proxy_credentials_never_show(closed_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://bob:{PASSWORD}@127.0.0.1:{closed_port}")
    with pytest.raises(ServerUnreachableError) as info:
        Ollama.get_models(api_base="http://ollama.remote.example:11434")
    assert PASSWORD not in str(info.value) and "proxy" in str(info.value)


# -- logging ---------------------------------------------------------------------------------------


def test_debug_logs_under_the_library_logger(
    fake_ollama: FakeOllama, debug_logs: pytest.LogCaptureFixture
) -> None:
    Ollama.get_models(api_base=fake_ollama.url)
    lines = [r.getMessage() for r in debug_logs.records if r.name == "ollama_provider"]
    assert f"GET {fake_ollama.url}/api/tags" in lines
    assert f"GET {fake_ollama.url}/api/tags -> 200" in lines


def test_silent_by_default(fake_ollama: FakeOllama, capfd: pytest.CaptureFixture[str]) -> None:
    Ollama.get_models(api_base=fake_ollama.url)
    with pytest.raises(ProviderError):
        list(Ollama.create_completion("nosuch", MESSAGES, api_base=fake_ollama.url))
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
    assert not logging.getLogger("ollama_provider").handlers


def test_reprs_of_internal_objects_hold_no_secret() -> None:
    from ollama_provider._timeout import CHAT_TIMEOUT

    address = Ollama.server_address(f"http://{USER}:{PASSWORD}@127.0.0.1:9")
    endpoint = Ollama._endpoint(address, KEY, {})
    request = endpoint.request("GET", "/api/tags", CHAT_TIMEOUT)
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    for text in (repr(address), repr(endpoint), repr(request)):
        for secret in SECRETS:
            assert secret not in text


def test_ollama_api_key_goes_to_a_remote_ollama_whatever_its_label(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ollama_provider import OpenaiAPI

    class MyOllama(Ollama):
        label = "My Ollama"

    monkeypatch.setenv("OLLAMA_API_KEY", "cloud-key")
    remote = MyOllama._endpoint("https://ollama.example.com", None, {})
    assert remote.headers["Authorization"] == "Bearer cloud-key"
    local = MyOllama._endpoint("http://127.0.0.1:11434", None, {})
    assert "Authorization" not in local.headers  # never to loopback by itself
    other = OpenaiAPI._endpoint("https://api.example.com/v1", None, {})
    assert "Authorization" not in other.headers  # not an Ollama
