"""Where the server is: pure rules from ``api_base`` / ``OLLAMA_HOST`` / ``OLLAMA_PORT`` to a URL.

No I/O and no environment access of its own: callers pass the environment in,
so the rules are a pure function with a table-driven test.

The port comes from the host value when it names one; else from ``OLLAMA_PORT``;
else 80/443 when a scheme was written; else 11434. Bind-all addresses
(``0.0.0.0``, ``::``) are not addresses to connect to and become loopback.
Credentials in the value become Basic auth and never appear in ``root``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from ._errors import InvalidHostError

__all__ = ["DEFAULT_PORT", "ServerAddress", "parse_base_url", "resolve_ollama"]

DEFAULT_PORT = 11434
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\Z")
# Characters allowed in a path prefix as written (RFC 3986 pchar plus "/").
_PATH = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]*\Z")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """A resolved server: ``root`` has scheme, host, explicit port and path prefix.

    ``notes`` say how the value was derived (for ``doctor`` and error messages);
    they never contain credentials.
    """

    root: str
    source: str
    notes: tuple[str, ...] = ()
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def openai_base(self) -> str:
        """The OpenAI-compatible base: the root plus ``/v1``."""
        return self.root + "/v1"

    @property
    def has_credentials(self) -> bool:
        return self.username is not None


def _strip(value: str) -> str:
    """Blanks and one pair of outer quotes go, as the Ollama server itself does."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    return value


def _fail(name: str, value: str, why: str) -> InvalidHostError:
    shown = _hide_userinfo(value)
    return InvalidHostError(
        f"{name}={shown!r} is not a usable server address: {why}. "
        "Expected something like 'localhost', 'example.com:11434' or 'https://example.com/ollama'."
    )


def _hide_userinfo(value: str) -> str:
    """Everything up to the last ``@`` may be credentials: it is never shown."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    return scheme + sep + rest


def _port(name: str, value: str, text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise _fail(name, value, f"the port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise _fail(name, value, f"the port {port} is outside 1-65535")
    return port


def _host(name: str, value: str, text: str, notes: list[str]) -> str:
    """Validate and normalise a host; IPv6 comes back in brackets."""
    bracketed = text.startswith("[") and text.endswith("]")
    candidate = text[1:-1] if bracketed else text
    if "%" in candidate:
        raise _fail(name, value, "zone ids and percent signs are not supported in the host")
    if ":" in candidate or bracketed:
        try:
            ip6 = ipaddress.IPv6Address(candidate)
        except ValueError:
            raise _fail(name, value, f"{text!r} is not a valid IPv6 address") from None
        if ip6.is_unspecified:
            notes.append(f"{text} is a bind-all address, not one to connect to: using [::1]")
            return "[::1]"
        return f"[{ip6.compressed}]"
    if not candidate:
        notes.append("no host given: using 127.0.0.1")
        return "127.0.0.1"
    host = candidate.lower().rstrip(".") if candidate != "." else ""
    if not host.isascii() or not all(_LABEL.match(label) for label in host.split(".")):
        raise _fail(name, value, f"{candidate!r} is not a valid host name")
    if len(host) > 253:
        raise _fail(name, value, "the host name is longer than 253 characters")
    if host == "0.0.0.0":  # noqa: S104 - recognising bind-all, not binding it
        notes.append("0.0.0.0 is a bind-all address, not one to connect to: using 127.0.0.1")
        return "127.0.0.1"
    return host


def _path(name: str, value: str, text: str) -> str:
    if not text:
        return ""
    if not _PATH.match(text) or _PERCENT.search(text) or "@" in text:
        raise _fail(name, value, "the path has characters a URL path prefix cannot hold")
    segments = text.split("/")
    if any(unquote(seg) in (".", "..") for seg in segments):
        raise _fail(name, value, "the path may not contain '.' or '..' segments")
    return "/" + "/".join(seg for seg in segments if seg) if text.strip("/") else ""


def _parse(
    name: str, raw: str, *, env_port: str | None, notes: list[str]
) -> tuple[str, str, int, str, str | None, str | None]:
    value = _strip(raw)
    if any(ord(c) < 0x21 or c == "\x7f" for c in value):
        raise _fail(name, value, "it contains blanks or control characters")
    if "?" in value or "#" in value or "\\" in value:
        raise _fail(name, value, "it may not contain '?', '#' or '\\'")
    scheme_text, sep, rest = value.partition("://")
    if sep:
        scheme = scheme_text.lower()
        if scheme not in ("http", "https"):
            raise _fail(name, value, f"the scheme {scheme_text!r} is not http or https")
    else:
        scheme, rest = "http", value
    authority, slash, path_text = rest.partition("/")
    username = password = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        user_text, _, pw_text = userinfo.partition(":")
        username, password = unquote(user_text), unquote(pw_text)
        notes.append("credentials in the address: sent as Basic auth, never shown")
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise _fail(name, value, "an IPv6 address lacks its closing ']'")
        host_text, port_text = authority[: end + 1], authority[end + 1 :]
        if port_text and not port_text.startswith(":"):
            raise _fail(name, value, f"unexpected text {port_text!r} after the IPv6 address")
        port_text = port_text[1:] if port_text else ""
        has_port = bool(port_text) or authority.endswith(":")
    elif authority.count(":") > 1:
        host_text, port_text, has_port = authority, "", False
    else:
        host_text, colon, port_text = authority.partition(":")
        has_port = bool(colon)
    host = _host(name, value, host_text, notes)
    if has_port:
        port = _port(name, value, port_text)
    elif env_port is not None and _strip(env_port):
        port = _port("OLLAMA_PORT", env_port, _strip(env_port))
        notes.append(f"port {port} from OLLAMA_PORT")
    elif sep:
        port = 443 if scheme == "https" else 80
    else:
        port = DEFAULT_PORT
    return scheme, host, port, _path(name, value, slash + path_text), username, password


def resolve_ollama(api_base: str | None, env: Mapping[str, str]) -> ServerAddress:
    """The Ollama server root: ``api_base`` wins, then ``OLLAMA_HOST``/``OLLAMA_PORT``."""
    notes: list[str] = []
    if api_base is not None and api_base.strip():
        scheme, host, port, path, user, pw = _parse(
            "api_base", api_base, env_port=None, notes=notes
        )
        if path == "/v1" or path.endswith("/v1"):
            path = path[:-3]
            notes.append("trailing /v1 removed: the server root is used")
        source = "api_base"
    else:
        host_value = env.get("OLLAMA_HOST", "")
        env_port = env.get("OLLAMA_PORT")
        if _strip(host_value):
            source = "OLLAMA_HOST"
            scheme, host, port, path, user, pw = _parse(
                "OLLAMA_HOST", host_value, env_port=env_port, notes=notes
            )
        else:
            source = "default"
            scheme, host, path, user, pw = "http", "127.0.0.1", "", None, None
            port = DEFAULT_PORT
            if env_port is not None and _strip(env_port):
                port = _port("OLLAMA_PORT", env_port, _strip(env_port))
                source = "OLLAMA_PORT"
            notes.append("OLLAMA_HOST is not set: using 127.0.0.1")
    return ServerAddress(f"{scheme}://{host}:{port}{path}", source, tuple(notes), user, pw)


def parse_base_url(value: str, *, name: str = "api_base") -> ServerAddress:
    """An OpenAI-compatible base URL, kept whole (``/v1`` stays), credentials split off."""
    notes: list[str] = []
    scheme, host, port, path, user, pw = _parse(name, value, env_port=None, notes=notes)
    return ServerAddress(f"{scheme}://{host}:{port}{path}", name, tuple(notes), user, pw)
