"""Where a server is: ``api_base`` / ``OLLAMA_HOST`` / ``OLLAMA_PORT`` to a typed address. Pure.

No I/O and no environment access of its own: callers pass the environment in,
so the rules are a pure function with a table-driven test.

The port comes from the host value when it names one; else from ``OLLAMA_PORT``;
else 80/443 when a scheme was written; else 11434. Bind-all addresses
(``0.0.0.0``, ``::``) are not addresses to connect to and become loopback.
Credentials in the value become Basic auth: they are kept out of ``root`` and
out of ``repr()``. A URL's userinfo is split (:func:`split_userinfo`) and hidden
(:func:`hide_userinfo`) only here; the proxy rule calls these, and the redactor
masks any ``user:pw@`` it finds in free text.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

from ._errors import InvalidHostError

__all__ = [
    "DEFAULT_PORT",
    "HostProblem",
    "Note",
    "ServerAddress",
    "Source",
    "hide_userinfo",
    "is_loopback",
    "parse_base_url",
    "resolve_ollama",
    "resolve_servers",
    "split_userinfo",
]

DEFAULT_PORT = 11434
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\Z")
# Characters allowed in a path prefix as written (RFC 3986 pchar plus "/").
_PATH = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]*\Z")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class Source(enum.Enum):
    """Where the address came from."""

    ARGUMENT = "argument"  # api_base= or the CLI's --host: see ServerAddress.setting
    OLLAMA_HOST = "OLLAMA_HOST"
    OLLAMA_PORT = "OLLAMA_PORT"  # no OLLAMA_HOST, but a port from OLLAMA_PORT
    DEFAULT = "default"


class Note(enum.Enum):
    """How a value was interpreted; ``_wording`` has the words for each."""

    HOST_NOT_SET = "host not set"
    NO_HOST = "no host"
    BIND_ALL_V4 = "bind-all IPv4"
    BIND_ALL_V6 = "bind-all IPv6"
    CREDENTIALS = "credentials"
    PORT_FROM_ENV = "port from OLLAMA_PORT"
    V1_REMOVED = "trailing /v1 removed"


class HostProblem(enum.Enum):
    """Why a value names no server; ``_wording`` has the words for each."""

    CONTROL_CHARACTERS = "control characters"
    QUERY_OR_FRAGMENT = "query or fragment"
    SCHEME = "scheme"
    IPV6_UNCLOSED = "IPv6 unclosed"
    IPV6_TRAILING = "IPv6 trailing text"
    IPV6_INVALID = "IPv6 invalid"
    ZONE_ID = "zone id"
    HOST_NAME = "host name"
    HOST_TOO_LONG = "host too long"
    PORT_NOT_NUMBER = "port not a number"
    PORT_RANGE = "port out of range"
    PATH_CHARACTERS = "path characters"
    PATH_DOTS = "path dot segments"


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """A resolved server. ``root`` joins the parts; credentials never appear in it.

    ``setting`` is the name of the setting the address came from as the caller
    spells it (``api_base``, ``--host``, ``OLLAMA_HOST``), for messages;
    ``shown`` is the value as given, with any credentials replaced by ``***``.
    """

    scheme: str
    host: str  # lower-case name, dotted IPv4, or IPv6 in brackets
    port: int
    path: str  # "" or a prefix such as "/ollama"
    source: Source
    setting: str
    shown: str = ""
    notes: tuple[Note, ...] = ()
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def root(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"

    @property
    def has_credentials(self) -> bool:
        return self.username is not None

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 and ::1 (brackets allowed)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_userinfo(authority: str) -> tuple[str | None, str | None, str]:
    """``user:pw@host:port`` to (user, password, ``host:port``); everything up to the last ``@``."""
    if "@" not in authority:
        return None, None, authority
    userinfo, _, rest = authority.rpartition("@")
    user, _, password = userinfo.partition(":")
    return unquote(user), unquote(password), rest


def hide_userinfo(value: str) -> str:
    """The value for showing it: everything up to its last ``@`` may be credentials."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    return scheme + sep + rest


def _strip(value: str) -> str:
    """Blanks and one pair of outer quotes go, as the Ollama server itself does."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    return value


class _Parser:
    """One value being parsed: the setting's name, the shown value, the notes so far."""

    def __init__(self, setting: str, value: str) -> None:
        self.setting = setting
        self.shown = hide_userinfo(value)
        self.notes: list[Note] = []

    def fail(self, problem: HostProblem, detail: str = "") -> InvalidHostError:
        return InvalidHostError(
            setting=self.setting, value=self.shown, problem=problem, detail=detail
        )

    def port(self, text: str) -> int:
        if not text.isascii() or not text.isdigit():
            raise self.fail(HostProblem.PORT_NOT_NUMBER, text)
        port = int(text)
        if not 1 <= port <= 65535:
            raise self.fail(HostProblem.PORT_RANGE, str(port))
        return port

    def host(self, text: str) -> str:
        """Validate and normalise a host; IPv6 comes back in brackets."""
        bracketed = text.startswith("[") and text.endswith("]")
        candidate = text[1:-1] if bracketed else text
        if "%" in candidate:
            raise self.fail(HostProblem.ZONE_ID, candidate)
        if ":" in candidate or bracketed:
            try:
                ip6 = ipaddress.IPv6Address(candidate)
            except ValueError:
                raise self.fail(HostProblem.IPV6_INVALID, text) from None
            if ip6.is_unspecified:
                self.notes.append(Note.BIND_ALL_V6)
                return "[::1]"
            return f"[{ip6.compressed}]"
        if not candidate:
            self.notes.append(Note.NO_HOST)
            return "127.0.0.1"
        host = candidate.lower().rstrip(".") if candidate != "." else ""
        if not host.isascii() or not all(_LABEL.match(label) for label in host.split(".")):
            raise self.fail(HostProblem.HOST_NAME, candidate)
        if len(host) > 253:
            raise self.fail(HostProblem.HOST_TOO_LONG)
        if host == "0.0.0.0":  # noqa: S104 - recognising bind-all, not binding it
            self.notes.append(Note.BIND_ALL_V4)
            return "127.0.0.1"
        return host

    def path(self, text: str) -> str:
        if not text:
            return ""
        if not _PATH.match(text) or _PERCENT.search(text) or "@" in text:
            raise self.fail(HostProblem.PATH_CHARACTERS)
        segments = text.split("/")
        if any(unquote(seg) in (".", "..") for seg in segments):
            raise self.fail(HostProblem.PATH_DOTS)
        return "/" + "/".join(seg for seg in segments if seg) if text.strip("/") else ""

    def address(
        self,
        scheme: str,
        host: str,
        port: int,
        path: str,
        source: Source,
        username: str | None = None,
        password: str | None = None,
    ) -> ServerAddress:
        return ServerAddress(
            scheme, host, port, path, source, self.setting, self.shown, tuple(self.notes),
            username, password,
        )  # fmt: skip

    def parse(self, raw: str, source: Source, env_port: str = "") -> ServerAddress:
        """``raw`` as an address; ``env_port`` (OLLAMA_PORT, "" if unset) when it names no port."""
        value = _strip(raw)
        if any(ord(c) < 0x21 or c == "\x7f" for c in value):
            raise self.fail(HostProblem.CONTROL_CHARACTERS)
        if "?" in value or "#" in value or "\\" in value:
            raise self.fail(HostProblem.QUERY_OR_FRAGMENT)
        scheme_text, sep, rest = value.partition("://")
        if sep:
            scheme = scheme_text.lower()
            if scheme not in ("http", "https"):
                raise self.fail(HostProblem.SCHEME, scheme_text)
        else:
            scheme, rest = "http", value
        authority, slash, path_text = rest.partition("/")
        username, password, authority = split_userinfo(authority)
        if username is not None:
            self.notes.append(Note.CREDENTIALS)
        if authority.startswith("["):
            end = authority.find("]")
            if end < 0:
                raise self.fail(HostProblem.IPV6_UNCLOSED)
            host_text, port_text = authority[: end + 1], authority[end + 1 :]
            if port_text and not port_text.startswith(":"):
                raise self.fail(HostProblem.IPV6_TRAILING, port_text)
            port_text = port_text[1:] if port_text else ""
            has_port = bool(port_text) or authority.endswith(":")
        elif authority.count(":") > 1:
            host_text, port_text, has_port = authority, "", False
        else:
            host_text, colon, port_text = authority.partition(":")
            has_port = bool(colon)
        host = self.host(host_text)
        if has_port:
            port = self.port(port_text)
        elif (from_env := _env_port(env_port)) is not None:
            port = from_env
            self.notes.append(Note.PORT_FROM_ENV)
        elif sep:
            port = 443 if scheme == "https" else 80
        else:
            port = DEFAULT_PORT
        path = self.path(slash + path_text)
        return self.address(scheme, host, port, path, source, username, password)


def _env_port(value: str) -> int | None:
    """The port ``OLLAMA_PORT`` names, or None when it is blank (or unset: ``""``)."""
    text = _strip(value)
    return _Parser("OLLAMA_PORT", value).port(text) if text else None


def resolve_ollama(
    api_base: str | None, env: Mapping[str, str], *, setting: str = "api_base"
) -> ServerAddress:
    """The Ollama server root: ``api_base`` wins, then ``OLLAMA_HOST``/``OLLAMA_PORT``.

    ``setting`` names ``api_base`` as the caller spells it (the CLI says ``--host``).
    """
    if api_base is not None and api_base.strip():
        address = _Parser(setting, api_base).parse(api_base, Source.ARGUMENT)
        if address.path.endswith("/v1"):
            notes = (*address.notes, Note.V1_REMOVED)
            return replace(address, path=address.path[:-3], notes=notes)
        return address
    host_value = env.get("OLLAMA_HOST", "")
    env_port = env.get("OLLAMA_PORT", "")
    if _strip(host_value):
        return _Parser("OLLAMA_HOST", host_value).parse(host_value, Source.OLLAMA_HOST, env_port)
    port = _env_port(env_port)
    if port is not None:
        parser, source = _Parser("OLLAMA_PORT", env_port), Source.OLLAMA_PORT
    else:
        parser = _Parser("OLLAMA_HOST", "")  # what a user would set to change it
        port, source = DEFAULT_PORT, Source.DEFAULT
    parser.notes.append(Note.HOST_NOT_SET)
    return parser.address("http", "127.0.0.1", port, "", source)


def parse_base_url(value: str, *, setting: str = "api_base") -> ServerAddress:
    """An OpenAI-compatible base URL, kept whole (``/v1`` stays), credentials split off."""
    return _Parser(setting, value).parse(value, Source.ARGUMENT)


def resolve_servers(
    api_base: str | None, env: Mapping[str, str], *, setting: str = "api_base"
) -> tuple[ServerAddress, ...]:
    """As :func:`resolve_ollama`, but ``OLLAMA_HOST`` may list several servers, comma-separated
    (each read with the same rules, ``OLLAMA_PORT`` as the default port of each)."""
    if api_base is not None and api_base.strip():
        return (resolve_ollama(api_base, env, setting=setting),)
    value = env.get("OLLAMA_HOST", "")
    hosts = [h for h in value.split(",") if h.strip()]  # blank entries ("a,", "a,,b") go
    if not hosts or "," not in value:
        return (resolve_ollama(None, env, setting=setting),)
    port = env.get("OLLAMA_PORT", "")
    return tuple(resolve_ollama(None, {"OLLAMA_HOST": h, "OLLAMA_PORT": port}) for h in hosts)
