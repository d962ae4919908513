"""Several servers: route by model, spread by load, fail over where it is safe, cool down.

A call given several servers goes to a healthy one that has the model (the
model lists are the catalogue's, cached per server); among those, the one with
the fewest requests in flight from this process; ties go to the order given,
so a list can say which server to prefer when none is busy (a fast one first):
calls made one at a time all go there, and load spreads as calls overlap. A
server that fails before the answer starts (refused, DNS, a reset before any
byte, a connect timeout, 502/503/504, 429 with ``Retry-After``) is skipped for
a cool-down that grows with each failure (1 s, doubling, at most 60 s, ±20 %
jitter, never shorter than its ``Retry-After``) and the request moves to the
next candidate. After the first byte nothing is retried. No background work:
a cooled-down server is tried again by the next request that needs it.

One server behaves exactly as before: no model lookup, no cool-down.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import _catalog
from ._endpoint import Endpoint
from ._errors import (
    Action,
    AllServersFailedError,
    ModelNotFoundError,
    Phase,
    ProviderError,
    ProviderTimeoutError,
    ResponseStatusError,
    ServerUnreachableError,
    SomeServersFailedError,
)
from ._timeout import Timeout

__all__ = [
    "COOL_DOWN_CAP",
    "ServerState",
    "all_failed",
    "begin",
    "by_load",
    "candidates",
    "choose",
    "end",
    "failed",
    "fails_over",
    "model_lists",
    "reset",
    "some_failed",
    "state_of",
    "succeeded",
    "try_next",
]

logger = logging.getLogger("ollama_provider")
COOL_DOWN_BASE = 1.0
COOL_DOWN_CAP = 60.0
_LIST_TIMEOUT = Timeout(5.0, 10.0, 10.0)


@dataclass
class ServerState:
    in_flight: int = 0
    failures: int = 0
    skip_until: float = 0.0  # time.monotonic()


_states: dict[str, ServerState] = {}


def reset() -> None:
    _states.clear()


def state_of(endpoint: Endpoint) -> ServerState:
    state = _states.get(endpoint.identity)
    if state is None:
        if len(_states) >= 1024:
            _states.clear()
        state = _states[endpoint.identity] = ServerState()
    return state


def begin(endpoint: Endpoint) -> None:
    state_of(endpoint).in_flight += 1


def end(endpoint: Endpoint) -> None:
    state = state_of(endpoint)
    state.in_flight = max(0, state.in_flight - 1)


def succeeded(endpoint: Endpoint) -> None:
    state = state_of(endpoint)
    state.failures, state.skip_until = 0, 0.0


def failed(endpoint: Endpoint, error: ProviderError) -> float:
    """Start (or lengthen) the server's cool-down; the seconds it lasts."""
    state = state_of(endpoint)
    state.failures += 1
    pause: float = min(COOL_DOWN_CAP, COOL_DOWN_BASE * 2.0 ** (state.failures - 1))
    pause *= random.uniform(0.8, 1.2)  # jitter, not secrecy
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, (int, float)):
        pause = max(pause, float(retry_after))
    state.skip_until = time.monotonic() + pause
    logger.debug("%s failed (%s): skipped for %.1f s", endpoint.base, error.reason.value, pause)
    return pause


def fails_over(error: ProviderError) -> bool:
    """Whether a request that failed so may go to another server: only before the answer."""
    if isinstance(error, ServerUnreachableError):
        return True
    if isinstance(error, ProviderTimeoutError):
        return error.phase is Phase.CONNECT
    if isinstance(error, ResponseStatusError):
        return error.status in (502, 503, 504) or (
            error.status == 429 and error.retry_after is not None
        )
    return False


def try_next(
    endpoint: Endpoint, error: ProviderError, kind: _catalog.ServerKind, multi: bool
) -> bool:
    """After a request to ``endpoint`` failed so: whether the call may move on to the next
    server (the failure is then recorded: a stale model list forgotten, a cool-down
    started). One server, or an error after which no other server may be asked: False."""
    if not multi:
        return False
    if isinstance(error, ModelNotFoundError):
        _catalog.forget(endpoint, kind)  # its list was out of date
        return True
    if fails_over(error):
        failed(endpoint, error)
        return True
    return False


def by_load(endpoints: Sequence[Endpoint]) -> list[Endpoint]:
    """The servers to try: the least busy first, ties in the order given (a stable sort)."""
    if len(endpoints) == 1:
        return list(endpoints)
    return sorted(endpoints, key=lambda e: state_of(e).in_flight)


async def model_lists(
    endpoints: Sequence[Endpoint],
    kind: _catalog.ServerKind,
    refresh: bool,
    timeout: Timeout = _LIST_TIMEOUT,
    *,
    skip_cooling: bool = True,
) -> list[list[str] | ProviderError | None]:
    """Each server's model names, or its error (None: skipped, cooling down)."""
    import asyncio

    now = time.monotonic()

    async def one(endpoint: Endpoint) -> list[str] | ProviderError | None:
        if skip_cooling and state_of(endpoint).skip_until > now:
            logger.debug("%s skipped: cooling down", endpoint.base)
            return None
        try:
            return await _catalog.model_names(endpoint, kind, timeout, refresh=refresh)
        except ProviderError as error:
            failed(endpoint, error)
            return error

    return list(await asyncio.gather(*(one(e) for e in endpoints)))


async def _lists(
    endpoints: Sequence[Endpoint], kind: _catalog.ServerKind, refresh: bool
) -> list[list[str] | None]:
    found = await model_lists(endpoints, kind, refresh)
    return [names if isinstance(names, list) else None for names in found]


async def candidates(
    endpoints: Sequence[Endpoint], kind: _catalog.ServerKind, model: str, action: Action
) -> tuple[str, list[Endpoint]]:
    """(the model, the servers to try in order): those that have it, least loaded first.

    An empty ``model`` means the first model of the first server that has any.
    """
    if len(endpoints) == 1:
        return model, list(endpoints)
    for refresh in (False, True):
        lists = await _lists(endpoints, kind, refresh)
        if not model:
            model = next((names[0] for names in lists if names), "")
            if not model:
                continue
        having = [
            e
            for e, names in zip(endpoints, lists, strict=True)
            if names is not None and _catalog.installed_name(names, model) is not None
        ]
        if having:
            chosen = by_load(having)
            logger.debug(
                "%s %r: servers in order %s", action.value, model, [e.base for e in chosen]
            )
            return model, chosen
    if all(names is None for names in lists):  # every server is down: try them all anyway
        order = sorted(endpoints, key=lambda e: state_of(e).skip_until)
        return model, order
    by_server = {
        e.base: names for e, names in zip(endpoints, lists, strict=True) if names is not None
    }
    union = list(dict.fromkeys(n for names in by_server.values() for n in names))
    error = ModelNotFoundError(model=model, available=union, status=None, url=endpoints[0].base)
    error.available_by_server = by_server
    raise endpoints[0].annotate(error, action)


async def choose(
    endpoints: Sequence[Endpoint],
    kind: _catalog.ServerKind,
    model: str,
    timeout: Timeout,
    action: Action,
) -> tuple[str, list[Endpoint]]:
    """:func:`candidates`, with the model named: an empty ``model`` with one server is
    that server's first (none installed is a ModelNotFoundError)."""
    model, order = await candidates(endpoints, kind, model, action)
    if not model:
        model = await _catalog.default_model(order[0], kind, timeout, action)
    return model, order


def all_failed(
    errors: list[ProviderError], endpoints: Sequence[Endpoint], action: Action
) -> ProviderError:
    """The one error for a call every server failed: the single one, or all of them."""
    if len(errors) == 1:
        return errors[0]
    error = AllServersFailedError(errors=errors, url=", ".join(e.base for e in endpoints))
    return endpoints[0].annotate(error, action)


def some_failed(
    errors: Mapping[str, ProviderError], endpoints: Sequence[Endpoint], action: Action
) -> ProviderError:
    """The one error for work done on every server that failed on some: each failing
    server's error (by root URL) and the servers where it worked."""
    done = [e.base for e in endpoints if e.base not in errors]
    failure = SomeServersFailedError(errors=dict(errors), done=done, url=", ".join(errors))
    return endpoints[0].annotate(failure, action)
