"""How long to wait in each phase of a request. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["CHAT_TIMEOUT", "DEFAULT_TIMEOUT", "Timeout"]


def _check(name: str, value: object) -> None:
    if value is None:
        return
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"{name} must be a positive, finite number of seconds (or None to wait forever), "
            f"not {value!r}"
        )


@dataclass(frozen=True, slots=True)
class Timeout:
    """Seconds to wait in each phase; ``None`` waits forever.

    ``connect``: DNS, TCP and TLS. ``first_byte``: until the answer starts (a
    cold model load can take minutes). ``between_chunks``: each later wait.
    """

    connect: float | None = 10.0
    first_byte: float | None = 600.0
    between_chunks: float | None = 300.0

    def __post_init__(self) -> None:
        for name in ("connect", "first_byte", "between_chunks"):
            _check(f"Timeout.{name}", getattr(self, name))

    @classmethod
    def of(cls, value: float | Timeout | None, default: Timeout) -> Timeout:
        """``timeout=N`` sets both waits for data to N seconds; a Timeout is taken whole."""
        if value is None:
            return default
        if isinstance(value, Timeout):
            return value
        _check("timeout", value)
        return cls(default.connect, float(value), float(value))


CHAT_TIMEOUT = Timeout()
DEFAULT_TIMEOUT = Timeout(first_byte=60.0, between_chunks=60.0)
