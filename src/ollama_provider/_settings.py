"""Per-call settings that are not the request body: timeouts, proxies, TLS. Pure."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["CHAT_TIMEOUT", "DEFAULT_TIMEOUT", "Timeout", "is_loopback", "proxy_for"]


@dataclass(frozen=True, slots=True)
class Timeout:
    """Seconds to wait in each phase; ``None`` waits forever.

    ``connect``: DNS, TCP and TLS. ``first_byte``: until the answer starts (a
    cold model load can take minutes). ``between_chunks``: each later wait.
    """

    connect: float | None = 10.0
    first_byte: float | None = 600.0
    between_chunks: float | None = 300.0

    @classmethod
    def of(cls, value: float | Timeout | None, default: Timeout) -> Timeout:
        """``timeout=N`` sets both waits for data to N seconds; a Timeout is taken whole."""
        if value is None:
            return default
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {value!r}")
        return cls(default.connect, float(value), float(value))


CHAT_TIMEOUT = Timeout()
DEFAULT_TIMEOUT = Timeout(first_byte=60.0, between_chunks=60.0)


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 and ::1 (brackets allowed)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def proxy_for(scheme: str, host: str, explicit: str | bool | None) -> str | None:
    """The proxy for a request, as users expect it.

    ``explicit`` (the ``proxy=`` argument) wins: a URL uses that proxy, ``False``
    or ``""`` uses none. Otherwise ``HTTP_PROXY``/``HTTPS_PROXY`` apply, minus
    ``NO_PROXY`` and minus loopback addresses, which never go through a proxy
    unless one is passed explicitly.
    """
    if explicit is not None:
        return explicit if isinstance(explicit, str) and explicit else None
    if is_loopback(host):
        return None
    import urllib.request  # heavy (http.client, email): only when a proxy may apply

    proxies = urllib.request.getproxies_environment()
    if not proxies:
        return None
    bare = host.strip("[]")
    if urllib.request.proxy_bypass_environment(bare, proxies):  # type: ignore[attr-defined]
        return None
    proxy = proxies.get(scheme) or proxies.get("all")
    if proxy and proxy.split("://", 1)[0].lower() in ("http", "https"):
        return proxy
    return None
