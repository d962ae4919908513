"""Which proxy a request uses, and why: one pure rule for requests and ``doctor`` alike.

``proxy=`` wins: a URL uses that proxy, ``False`` or ``""`` uses none.
Otherwise the environment decides, as urllib and curl read it: the lower-case
variable before the upper-case one (``https_proxy``, ``HTTPS_PROXY``), then
``all_proxy``/``ALL_PROXY``; ``no_proxy``/``NO_PROXY`` exempts hosts. Loopback
servers never go through an environment proxy. Only http(s) proxies can be
used; a SOCKS proxy in the environment is reported as ignored, not used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ._address import ServerAddress, hide_userinfo, split_userinfo

__all__ = ["PROXY_VARIABLES", "ProxyChoice", "choose_proxy"]

# The names choose_proxy may read (a server's scheme is http or https), each in
# the two spellings _lookup tries: what decides the proxy of a cached endpoint.
_NAMES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
PROXY_VARIABLES = tuple(spelling for name in _NAMES for spelling in (name, name.upper()))


@dataclass(frozen=True, slots=True)
class ProxyChoice:
    """A proxy for a request. ``variable`` is the environment variable that set it
    (``None`` for ``proxy=``); ``usable`` is false for schemes the transport cannot use."""

    url: str = field(repr=False)  # may hold credentials
    variable: str | None
    shown: str  # the URL with its credentials hidden
    usable: bool = True

    @property
    def secrets(self) -> tuple[str, ...]:
        """What of the URL must never be shown (its password or token)."""
        authority = self.url.partition("://")[2].split("/", 1)[0]
        user, password, _ = split_userinfo(authority)
        return tuple(s for s in (password or user,) if s)


def _lookup(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    for variable in (name.lower(), name.upper()):
        value = env.get(variable, "").strip()
        if value:
            return variable, value
    return None


def _exempt(host: str, port: int, no_proxy: str) -> bool:
    host = host.strip("[]").lower()
    for entry in no_proxy.replace(" ", "").lower().split(","):
        if not entry:
            continue
        if entry == "*":
            return True
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and entry_port != str(port):
            continue
        name = name.strip("[]").lstrip(".")
        if host == name or host.endswith("." + name):
            return True
    return False


def choose_proxy(
    address: ServerAddress, explicit: str | bool | None, env: Mapping[str, str]
) -> ProxyChoice | None:
    """The proxy for requests to ``address``, or None for a direct connection."""
    if explicit is not None:
        if isinstance(explicit, str) and explicit:
            return ProxyChoice(explicit, None, hide_userinfo(explicit))
        return None
    if address.is_loopback:
        return None
    found = _lookup(env, f"{address.scheme}_proxy") or _lookup(env, "all_proxy")
    if found is None:
        return None
    exempt = _lookup(env, "no_proxy")
    if exempt is not None and _exempt(address.host, address.port, exempt[1]):
        return None
    variable, url = found
    usable = url.partition("://")[0].lower() in ("http", "https") if "://" in url else True
    if "://" not in url:
        url = "http://" + url  # as urllib and curl read a bare host:port
    return ProxyChoice(url, variable, hide_userinfo(url), usable)
