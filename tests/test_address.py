"""The host rules: a table, the error cases, and properties over arbitrary input."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_provider import InvalidHostError, ServerAddress, Source
from ollama_provider._address import Note, parse_base_url, resolve_ollama, resolve_servers
from ollama_provider._proxies import PROXY_VARIABLES, choose_proxy

TABLE = [
    # (OLLAMA_HOST, OLLAMA_PORT, expected root)
    (None, None, "http://127.0.0.1:11434"),
    ("", None, "http://127.0.0.1:11434"),
    ("   ", None, "http://127.0.0.1:11434"),
    ("example.com", None, "http://example.com:11434"),
    ("example.com", "5000", "http://example.com:5000"),
    ("example.com:7000", "5000", "http://example.com:7000"),
    ("http://example.com", None, "http://example.com:80"),
    ("https://example.com", None, "https://example.com:443"),
    ("http://example.com", "5000", "http://example.com:5000"),
    ("HTTPS://Example.com/ollama/", None, "https://example.com:443/ollama"),
    ("0.0.0.0", None, "http://127.0.0.1:11434"),
    ("0.0.0.0:1234", None, "http://127.0.0.1:1234"),
    ("[::]", None, "http://[::1]:11434"),
    ("[::]:1234", None, "http://[::1]:1234"),
    ("::1", None, "http://[::1]:11434"),
    ("[::1]:1234", None, "http://[::1]:1234"),
    ('  "127.0.0.1:8080" ', None, "http://127.0.0.1:8080"),
    ("'localhost'", None, "http://localhost:11434"),
    ("http://user:pw@host:1234", None, "http://host:1234"),
    (None, "5000", "http://127.0.0.1:5000"),
    (":1234", None, "http://127.0.0.1:1234"),
    ("host.example.", None, "http://host.example:11434"),
    ("http://h:1/a//b/", None, "http://h:1/a/b"),
]


@pytest.mark.parametrize(("host", "port", "expected"), TABLE)
def test_table(host: str | None, port: str | None, expected: str) -> None:
    env = {}
    if host is not None:
        env["OLLAMA_HOST"] = host
    if port is not None:
        env["OLLAMA_PORT"] = port
    address = resolve_ollama(None, env)
    assert address.root == expected
    parts = urlsplit(expected)
    assert (address.scheme, address.port) == (parts.scheme, parts.port)
    assert address.root == f"{address.scheme}://{address.host}:{address.port}{address.path}"


def test_credentials_become_basic_auth_and_never_show() -> None:
    address = resolve_ollama(None, {"OLLAMA_HOST": "http://us%40er:p%3Aw@host:1234"})
    assert (address.username, address.password) == ("us@er", "p:w")
    assert "p:w" not in repr(address) and "p%3Aw" not in repr(address)
    assert Note.CREDENTIALS in address.notes
    assert address.shown == "http://***@host:1234"


@pytest.mark.parametrize(
    ("api_base", "expected"),
    [
        ("http://localhost:11434/v1", "http://localhost:11434"),
        ("http://localhost:11434/v1/", "http://localhost:11434"),
        ("http://localhost:11434", "http://localhost:11434"),
        ("https://proxy.example/ollama/v1", "https://proxy.example:443/ollama"),
        ("http://x/v1/api", "http://x:80/v1/api"),  # only a trailing /v1 goes
        ("http://x/v1x", "http://x:80/v1x"),
        ("localhost:8080/v1", "http://localhost:8080"),
    ],
)
def test_api_base_wins_and_loses_only_a_trailing_v1(api_base: str, expected: str) -> None:
    address = resolve_ollama(api_base, {"OLLAMA_HOST": "elsewhere:1", "OLLAMA_PORT": "2"})
    assert address.root == expected
    assert address.source is Source.ARGUMENT and address.setting == "api_base"


def test_the_caller_names_its_setting() -> None:
    address = resolve_ollama("h:1", {}, setting="--host")
    assert (address.source, address.setting) == (Source.ARGUMENT, "--host")
    with pytest.raises(InvalidHostError) as info:
        resolve_ollama("h:x", {}, setting="--host")
    assert info.value.setting == "--host" and str(info.value).startswith("--host='h:x'")


@pytest.mark.parametrize(
    ("env", "source", "setting"),
    [
        ({}, Source.DEFAULT, "OLLAMA_HOST"),
        ({"OLLAMA_PORT": "5000"}, Source.OLLAMA_PORT, "OLLAMA_PORT"),
        ({"OLLAMA_HOST": "h"}, Source.OLLAMA_HOST, "OLLAMA_HOST"),
    ],
)
def test_where_an_address_came_from(env: dict[str, str], source: Source, setting: str) -> None:
    address = resolve_ollama(None, env)
    assert isinstance(address, ServerAddress)
    assert (address.source, address.setting) == (source, setting)


@pytest.mark.parametrize(
    ("host", "port", "fragment"),
    [
        ("host:abc", None, "'abc' is not a number"),
        ("host:99999", None, "outside 1-65535"),
        ("host:0", None, "outside 1-65535"),
        ("example.com", "x1", "OLLAMA_PORT='x1'"),
        ("ftp://example.com", None, "not http or https"),
        ("exa mple.com", None, "blanks"),
        ("host\r\nX-Injected: 1", None, "control characters"),
        ("host/a/../b", None, "'..'"),
        ("host/%2e%2e/b", None, "'..'"),
        ("host?x=1", None, "'?'"),
        ("host#frag", None, "'#'"),
        ("[::1", None, "closing ']'"),
        ("[zz::1]:80", None, "not a valid IPv6"),
        ("bad_label-.com", None, "not a valid host name"),
        ("http://us/er:secret@host", None, "path"),
    ],
)
def test_unusable_values_give_a_clear_error(host: str, port: str | None, fragment: str) -> None:
    env = {"OLLAMA_HOST": host}
    if port is not None:
        env["OLLAMA_PORT"] = port
    with pytest.raises(InvalidHostError) as info:
        resolve_ollama(None, env)
    message = str(info.value)
    assert fragment in message
    assert ("OLLAMA_PORT" if port else "OLLAMA_HOST") in message
    assert "secret" not in message
    assert isinstance(info.value, ValueError)


def test_base_url_keeps_v1_for_openai_servers() -> None:
    assert parse_base_url("http://127.0.0.1:8080/v1").root == "http://127.0.0.1:8080/v1"
    assert parse_base_url("https://api.openai.com/v1").root == "https://api.openai.com:443/v1"


def _check_url(root: str) -> None:
    parts = urlsplit(root)
    assert parts.scheme in ("http", "https")
    assert parts.hostname
    assert parts.port is not None and 1 <= parts.port <= 65535
    assert not parts.query and not parts.fragment and parts.username is None
    assert root == root.strip() and "\\" not in root


@settings(max_examples=400, deadline=None)
@given(
    host=st.one_of(
        st.text(max_size=40),
        st.from_regex(r"(https?://)?[a-zA-Z0-9.\-_:\[\]@]{0,30}(/[a-z./%]{0,10})?", fullmatch=True),
    ),
    port=st.one_of(st.none(), st.text(max_size=8), st.integers(-5, 70000).map(str)),
)
def test_any_value_gives_a_url_or_the_documented_error(host: str, port: str | None) -> None:
    env = {"OLLAMA_HOST": host}
    if port is not None:
        env["OLLAMA_PORT"] = port
    try:
        address = resolve_ollama(None, env)
    except InvalidHostError as exc:
        assert "OLLAMA_HOST" in str(exc) or "OLLAMA_PORT" in str(exc)
        return
    _check_url(address.root)
    again = resolve_ollama(None, {"OLLAMA_HOST": address.root})
    assert again.root == address.root  # a fixed point
    assert resolve_ollama(address.root, {}).root == address.root.removesuffix("/v1")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("a,", ["http://a:5000"]),
        (" a , ", ["http://a:5000"]),
        ("a,b,", ["http://a:5000", "http://b:5000"]),
        ("a,,b", ["http://a:5000", "http://b:5000"]),
        ("a", ["http://a:5000"]),
    ],
)
def test_a_host_list_drops_blank_entries_also_when_one_host_is_left(
    host: str, expected: list[str]
) -> None:
    servers = resolve_servers(None, {"OLLAMA_HOST": host, "OLLAMA_PORT": "5000"})
    assert [s.root for s in servers] == expected


def test_a_host_list_of_blanks_names_no_server() -> None:
    with pytest.raises(InvalidHostError):
        resolve_servers(None, {"OLLAMA_HOST": " , "})


class _Recording(dict[str, str]):
    """An environment that remembers which variables were read."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)


@pytest.mark.parametrize("base", ["http://example.com", "https://example.com"])
@pytest.mark.parametrize("values", [{}, {"ALL_PROXY": "http://proxy:3128"}])
def test_proxy_variables_name_every_variable_the_proxy_rule_reads(
    base: str, values: dict[str, str]
) -> None:
    # The endpoint cache keys on PROXY_VARIABLES: a variable read but not named
    # there would leave a changed proxy setting unnoticed.
    env = _Recording(values)
    choose_proxy(parse_base_url(base), None, env)
    assert env.read and env.read <= set(PROXY_VARIABLES)
