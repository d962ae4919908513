"""Keeping secrets out of every text the library emits.

API keys, URL passwords and ``Authorization`` values must never reach an
error message, a ``repr()``, a log line or an exception chain, even when a
server echoes them back in its body. Every text that comes from a server or
names a URL passes through :class:`Redactor` before it is shown.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

__all__ = ["MASK", "Redactor"]

MASK = "***"
# "Bearer xyz", "Basic xyz", "Authorization: xyz", "api_key=xyz" as servers and proxies echo them.
_AUTH_WORDS = re.compile(
    r"(?i)(\b(?:bearer|basic)\s+|authorization[\"']?\s*[:=]\s*[\"']?(?:bearer\s+|basic\s+)?"
    r"|api[_-]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._~+/=-]{8,}"
)

_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@\"'<>]+@")


class Redactor:
    """Masks the given secrets (and the usual encodings of them) in any text."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        found: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= 3:
                found.add(secret)
        self._secrets = sorted(found, key=len, reverse=True)

    @classmethod
    def for_credentials(
        cls,
        api_key: str | None,
        username: str | None,
        password: str | None,
        extra: Iterable[str] = (),
    ) -> Redactor:
        secrets: list[str | None] = [api_key, password, *extra]
        if username is not None and password:
            pair = f"{username}:{password}".encode()
            secrets.append(base64.b64encode(pair).decode())
        if api_key:
            secrets.append(f"Bearer {api_key}")
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
