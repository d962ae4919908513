"""Typed results of Ollama's model-management endpoints, parsed from their JSON. Pure.

Fields follow Ollama's names; missing or ``null`` fields become empty values
rather than errors, since releases 0.11 to 0.33 add fields over time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ._modelfile import unquote

__all__ = [
    "ModelDetails",
    "ModelInfo",
    "Progress",
    "PullProgress",
    "RunningModel",
    "ServerVersion",
    "ShowResult",
    "parse_time",
    "str_or_empty",
]

_GO_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?\Z")


def parse_time(text: object) -> datetime | None:
    """Go's RFC 3339 times (nanoseconds, ``Z``) as aware datetimes; None when absent or odd."""
    if not isinstance(text, str) or not (match := _GO_TIME.match(text)):
        return None
    base, fraction, zone = match.groups()
    micro = (fraction or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if zone in (None, "Z") else zone
    try:
        parsed = datetime.fromisoformat(f"{base}.{micro}{zone}")
    except ValueError:
        return None
    if parsed.year <= 1:  # Go's zero time: "never"
        return None
    return parsed.astimezone(timezone.utc)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def str_or_empty(value: object) -> str:
    """A JSON field that should be text: itself, or "" when it is missing or not text."""
    return value if isinstance(value, str) else ""


def _strs(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


@dataclass(frozen=True, slots=True)
class ModelDetails:
    """The ``details`` object: format, family, parameter size, quantization."""

    format: str = ""
    family: str = ""
    families: tuple[str, ...] = ()
    parameter_size: str = ""
    quantization_level: str = ""
    parent_model: str = ""

    @classmethod
    def parse(cls, data: object) -> ModelDetails:
        if not isinstance(data, dict):
            return cls()
        return cls(
            str_or_empty(data.get("format")),
            str_or_empty(data.get("family")),
            _strs(data.get("families")),
            str_or_empty(data.get("parameter_size")),
            str_or_empty(data.get("quantization_level")),
            str_or_empty(data.get("parent_model")),
        )


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One installed model (``GET /api/tags``)."""

    name: str
    model: str = ""
    size: int = 0
    digest: str = ""
    modified_at: datetime | None = None
    details: ModelDetails = field(default_factory=ModelDetails)
    capabilities: tuple[str, ...] = ()
    context_length: int | None = None
    server: str = ""  # the server's root URL: several servers list their models together

    @classmethod
    def parse(cls, data: dict[str, Any]) -> ModelInfo:
        details = data.get("details")
        return cls(
            str_or_empty(data.get("name")) or str_or_empty(data.get("model")),
            str_or_empty(data.get("model")),
            _int(data.get("size")) or 0,
            str_or_empty(data.get("digest")),
            parse_time(data.get("modified_at")),
            ModelDetails.parse(details),
            _strs(data.get("capabilities")),
            _int(details.get("context_length")) if isinstance(details, dict) else None,
        )


@dataclass(frozen=True, slots=True)
class RunningModel:
    """A model loaded in memory (``GET /api/ps``)."""

    name: str
    model: str = ""
    size: int = 0
    size_vram: int = 0
    digest: str = ""
    expires_at: datetime | None = None
    context_length: int | None = None
    details: ModelDetails = field(default_factory=ModelDetails)
    server: str = ""  # the server's root URL

    @classmethod
    def parse(cls, data: dict[str, Any]) -> RunningModel:
        return cls(
            str_or_empty(data.get("name")) or str_or_empty(data.get("model")),
            str_or_empty(data.get("model")),
            _int(data.get("size")) or 0,
            _int(data.get("size_vram")) or 0,
            str_or_empty(data.get("digest")),
            parse_time(data.get("expires_at")),
            _int(data.get("context_length")),
            ModelDetails.parse(data.get("details")),
        )


def _parameters(text: str) -> dict[str, str | list[str]]:
    """Modelfile parameters ("stop  <|eot_id|>" lines); repeated keys become lists."""
    out: dict[str, str | list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if not key:
            continue
        value = unquote(value.strip())
        previous = out.get(key)
        if previous is None:
            out[key] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            out[key] = [previous, value]
    return out


@dataclass(frozen=True, slots=True)
class ShowResult:
    """What Ollama knows about one model (``POST /api/show``)."""

    model: str
    details: ModelDetails = field(default_factory=ModelDetails)
    capabilities: tuple[str, ...] = ()
    context_length: int | None = None
    parameters: dict[str, str | list[str]] = field(default_factory=dict)
    template: str = ""
    system: str = ""
    license: str = ""
    modified_at: datetime | None = None
    model_info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, model: str, data: dict[str, Any]) -> ShowResult:
        raw_info = data.get("model_info")
        info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
        context = None
        for key, value in info.items():
            if key.endswith(".context_length") and _int(value):
                context = value
                break
        details = data.get("details")
        if context is None and isinstance(details, dict):
            context = _int(details.get("context_length"))
        return cls(
            model,
            ModelDetails.parse(details),
            _strs(data.get("capabilities")),
            context,
            _parameters(str_or_empty(data.get("parameters"))),
            str_or_empty(data.get("template")),
            str_or_empty(data.get("system")),
            str_or_empty(data.get("license")),
            parse_time(data.get("modified_at")),
            info,
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress line of a pull, push or create; layer lines carry digest and byte counts."""

    status: str
    digest: str | None = None
    completed: int | None = None
    total: int | None = None
    server: str = ""  # several servers: which one this line is about

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Progress:
        digest = data.get("digest")
        return cls(
            str_or_empty(data.get("status")),
            digest if isinstance(digest, str) else None,
            _int(data.get("completed")),
            _int(data.get("total")),
        )


@dataclass(frozen=True, slots=True)
class ServerVersion:
    """One server's version (``versions()``)."""

    server: str
    version: str


#: The name of :class:`Progress` before push and create had progress too.
PullProgress = Progress
