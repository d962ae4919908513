"""Keeping secrets out of every text the library emits.

API keys, URL passwords, proxy credentials and the values of credential
headers (``Authorization``, ``Proxy-Authorization``, ``X-API-Key``…) must never
reach an error message, a ``repr()``, a log line or an exception chain, even
when a server echoes them back. Every text that comes from a server or names a
URL passes through a :class:`Redactor` before it is kept.

Two layers: the secrets this call knows (and their usual encodings) are
replaced wherever they appear, whatever their length; and anything shaped
like a credential (``Bearer x``, ``Authorization: Token x``, ``api_key=x``,
``user:pw@`` in a URL) is masked even when it is not one of ours.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping

__all__ = ["MASK", "SECRET_HEADERS", "Redactor"]

MASK = "***"
#: Request headers whose values are credentials (compared case-insensitively).
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "x-auth-token"}
)
_AUTH_WORDS = re.compile(
    r"(?i)(\b(?:bearer|basic)\s+"
    r"|(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:[a-z]+\s+)?"
    r"|(?:x-)?api[_-]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._~+/=-]{8,}"
)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@\"'<>]+@")


class Redactor:
    """Masks the given secrets (and the usual encodings of them) in any text."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        found: set[str] = set()
        for secret in secrets:
            if secret and secret.strip():
                found.add(secret.strip())
        self._secrets = sorted(found, key=len, reverse=True)

    @classmethod
    def for_credentials(
        cls,
        api_key: str | None,
        username: str | None,
        password: str | None,
        headers: Mapping[str, str] | None = None,
        extra: Iterable[str] = (),
    ) -> Redactor:
        secrets: list[str | None] = [api_key, password, *extra]
        if username is not None and password:
            pair = f"{username}:{password}".encode()
            secrets.append(base64.b64encode(pair).decode())
        for name, value in (headers or {}).items():
            if name.lower() in SECRET_HEADERS:
                secrets.append(value)
                scheme, _, token = value.strip().partition(" ")
                if token and scheme.isalpha():
                    secrets.append(token)  # the token alone, as servers echo it
        return cls(secrets)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if "@" in text:
            text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
        return _AUTH_WORDS.sub(lambda m: m.group(1) + MASK, text)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"
