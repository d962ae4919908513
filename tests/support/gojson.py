"""What the fake needs of Go's formats: compact JSON, times, durations, decode errors."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "MAX_DURATION",
    "go_decode_error",
    "go_dumps",
    "go_json",
    "go_map",
    "go_time",
    "go_time_ns",
    "parse_go_duration",
    "parse_go_time",
    "parse_keep_alive",
]

MAX_DURATION = (1 << 63) - 1  # time.Duration(math.MaxInt64), what Ollama uses for "forever"


def go_json(obj: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON with UTF-8 kept, as Go's json.Marshal writes it.

    Go also escapes ``< > &`` and U+2028/9 as ``\\u003c``...; a JSON decoder
    undoes that, so the fake does not (the real-server tests cover it).
    ``sort_keys`` mimics marshalling a Go ``map`` (keys sorted).
    """
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)


def go_dumps(obj: Any, *, newline: bool = False) -> bytes:
    """``go_json`` as bytes; ``newline`` adds the ``\\n`` a Go json.Encoder writes."""
    data = go_json(obj).encode("utf-8", "replace")
    return data + b"\n" if newline else data


def go_time_ns(ns: int | None = None, *, utc: bool = True) -> str:
    """RFC 3339 with nanoseconds, trailing zeros trimmed, ``Z`` for UTC (Go's RFC3339Nano)."""
    ns = time.time_ns() if ns is None else ns
    secs, frac = divmod(ns, 1_000_000_000)
    moment = datetime.fromtimestamp(secs, timezone.utc)
    if not utc:
        moment = moment.astimezone()
    return go_time(moment, nanos=frac)


def go_time(moment: datetime, *, nanos: int | None = None) -> str:
    frac = moment.microsecond * 1000 if nanos is None else nanos
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{frac:09d}".rstrip("0")
    if digits:
        text += "." + digits
    offset = moment.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_TIME_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def parse_go_time(text: str) -> float:
    """Seconds since the epoch for an RFC 3339 time with up to 9 fraction digits."""
    m = _TIME_RE.match(text)
    if not m:
        raise ValueError(f"bad time {text!r}")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7) or "0", m.group(8)
    tz = timezone.utc
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    base = datetime(y, mo, d, h, mi, s, tzinfo=tz).timestamp()
    return base + float("0." + frac)


_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DUR_PART = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


def parse_go_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds; ValueError carries Go's message."""
    orig, s, sign = text, text, 1
    if s[:1] in "+-" and s:
        sign, s = (-1 if s[0] == "-" else 1), s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f'time: invalid duration "{orig}"')
    total = 0
    while s:
        m = _DUR_PART.match(s)
        assert m is not None
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not frac:
            raise ValueError(f'time: invalid duration "{orig}"')
        if not unit:
            raise ValueError(f'time: missing unit in duration "{orig}"')
        if unit not in _UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{orig}"')
        scale = _UNITS[unit]
        total += int(whole or 0) * scale
        if frac:
            total += int(int(frac) * scale / 10 ** len(frac))
        s = s[m.end() :]
    return sign * total


def parse_keep_alive(value: Any) -> int | None:
    """api.Duration semantics: number = seconds, string = Go duration, negative = forever.

    Returns nanoseconds, None when absent; raises ValueError with Go's message.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("Unsupported type: 'bool'")
    if isinstance(value, int | float):
        return MAX_DURATION if value < 0 else int(value * 1_000_000_000)
    if isinstance(value, str):
        ns = parse_go_duration(value)
        return MAX_DURATION if ns < 0 else ns
    kind = "map[string]interface {}" if isinstance(value, dict) else "[]interface {}"
    raise ValueError(f"Unsupported type: '{kind}'")


_GO_KIND = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "bool",
    int: "number",
    float: "number",
}


def go_decode_error(
    body: bytes, go_type: str, *, empty: str
) -> tuple[dict[str, Any] | None, str | None]:
    """Decode a JSON request body; on failure return Go's error text.

    ``empty`` is the message for an empty body ("EOF" from gin, or Ollama's own
    "missing request body"). ``go_type`` names the target struct in messages.
    """
    if not body.strip():
        return None, empty
    try:
        text = body.decode("utf-8")
        value = json.loads(text)
    except UnicodeDecodeError:
        return None, "invalid character in string literal"
    except json.JSONDecodeError as exc:
        doc = exc.doc
        pos = exc.pos
        while pos < len(doc) and doc[pos] in " \t\r\n":
            pos += 1
        if pos >= len(doc):
            return None, "unexpected EOF"
        return None, f"invalid character '{doc[pos]}' {_go_expecting(exc.msg, doc[:pos])}"
    if not isinstance(value, dict):
        kind = "null" if value is None else _GO_KIND.get(type(value), "value")
        if value is None:
            return {}, None  # Go decodes null into a zero struct
        return None, f"json: cannot unmarshal {kind} into Go value of type {go_type}"
    return value, None


def _go_expecting(python_msg: str, before: str) -> str:
    """The end of encoding/json's SyntaxError text for what Python's decoder expected."""
    if python_msg.startswith("Expecting property name"):
        return "looking for beginning of object key string"
    if python_msg.startswith("Expecting ':'"):
        return "after object key"
    if python_msg.startswith("Expecting ','"):
        depth: list[str] = []
        in_string = escaped = False
        for char in before:  # the innermost open bracket decides
            if escaped:
                escaped = False
            elif in_string:
                escaped, in_string = char == "\\", char != '"'
            elif char == '"':
                in_string = True
            elif char in "[{":
                depth.append(char)
            elif char in "]}" and depth:
                depth.pop()
        return "after array element" if depth[-1:] == ["["] else "after object key:value pair"
    return "looking for beginning of value"


def go_map(obj: Any) -> Any:
    """Sort dict keys recursively, as Go does when it marshals a ``map[string]any``."""
    if isinstance(obj, dict):
        return {k: go_map(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [go_map(v) for v in obj]
    return obj
