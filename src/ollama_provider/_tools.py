"""Tools from plain Python functions: JSON schemas from signatures and docstrings, and a runner.

``tools=[get_weather]`` works wherever ``tools=[{"type": "function", ...}]`` does.
The schema keeps what simpler converters lose: ``Literal``/``Enum`` become
``enum``, ``list[X]`` an ``array`` with ``items``, parameters with defaults are
not ``required``, ``X | None`` and unions become ``anyOf``, ``TypedDict``,
dataclass and pydantic parameters nested objects. Parameter descriptions come
from Google, NumPy or reST docstrings.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["arun_tool_calls", "function_schema", "run_tool_calls", "tool_schemas"]

_PRIMITIVES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
_PARAM_HEADERS = ("args", "arguments", "parameters", "params", "keyword args", "other parameters")
_HEADERS = (
    *_PARAM_HEADERS,
    "returns",
    "return",
    "raises",
    "yields",
    "examples",
    "example",
    "notes",
    "note",
    "see also",
    "attributes",
    "warnings",
    "references",
)
_REST_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?\*{0,2}(\w+)\s*:\s*(.*)$")
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?::.*)?$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _header(lines: list[str], i: int) -> tuple[str, str] | None:
    """(name, style) if line i opens a Google ("Args:") or NumPy ("Parameters", dashes) section."""
    text = lines[i].strip()
    underlined = i + 1 < len(lines) and set(lines[i + 1].strip() or "x") == {"-"}
    if underlined and text.lower() in _HEADERS:
        return text.lower(), "numpy"
    if text.endswith(":") and text[:-1].strip().lower() in _HEADERS:
        return text[:-1].strip().lower(), "google"
    return None


def _doc_params(doc: str) -> tuple[str, dict[str, str]]:
    """(summary, {parameter: description}) from a Google, NumPy or reST docstring."""
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    summary: list[str] = []
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith(":") or _header(lines, i):
            break
        summary.append(line.strip())
    params: dict[str, str] = {}
    current: str | None = None
    section: tuple[str, str] | None = None
    base = entry_indent = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        head = _header(lines, i)
        if head:
            section, base, current = head, _indent(line), None
            i += 2 if head[1] == "numpy" else 1
            continue
        stripped = line.strip()
        rest = _REST_PARAM.match(stripped)
        if rest:
            section, current = None, rest.group(1)
            params[current] = rest.group(2).strip()
        elif stripped.startswith(":"):
            section, current = None, None
        elif section is None or section[0] not in _PARAM_HEADERS:
            if current and stripped and _indent(line) > 0 and section is None:
                params[current] = f"{params[current]} {stripped}".strip()
        elif section[1] == "google":
            if stripped and _indent(line) <= base:
                section, current = None, None
            elif (entry := _GOOGLE_ENTRY.match(stripped)) and (
                current is None or _indent(line) <= entry_indent
            ):
                current, entry_indent = entry.group(1), _indent(line)
                params[current] = entry.group(2).strip()
            elif current and stripped:
                params[current] = f"{params[current]} {stripped}".strip()
        elif stripped and _indent(line) <= base:
            entry = _NUMPY_ENTRY.match(stripped)
            current = entry.group(1) if entry else None
            if current:
                params.setdefault(current, "")
        elif current and stripped:
            params[current] = f"{params[current]} {stripped}".strip()
        i += 1
    return " ".join(summary), params


def _is_typeddict(tp: Any) -> bool:
    return (
        isinstance(tp, type)
        and issubclass(tp, dict)
        and hasattr(tp, "__annotations__")
        and hasattr(tp, "__total__")
    )


def _is_pydantic(tp: Any) -> bool:
    return (
        isinstance(tp, type) and hasattr(tp, "model_json_schema") and hasattr(tp, "model_validate")
    )


def type_schema(tp: Any, seen: frozenset[Any] = frozenset()) -> dict[str, Any]:
    """The JSON schema of one annotation."""
    if tp is inspect.Parameter.empty or tp is Any or tp is object:
        return {}
    if tp in _PRIMITIVES:
        return {"type": _PRIMITIVES[tp]}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        inner = type_schema(args[0], seen)
        notes = [a for a in args[1:] if isinstance(a, str)]
        return {**inner, "description": notes[0]} if notes else inner
    if origin is typing.Literal:
        return _enum(list(args))
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [type_schema(a, seen) for a in args]}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum([member.value for member in tp])
    if origin in (list, set, frozenset, Sequence, typing.Sequence) or tp in (list, set, tuple):
        schema: dict[str, Any] = {"type": "array"}
        if args:
            schema["items"] = type_schema(args[0], seen)
        if origin in (set, frozenset):
            schema["uniqueItems"] = True
        return schema
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": type_schema(args[0], seen)}
        return {
            "type": "array",
            "prefixItems": [type_schema(a, seen) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = type_schema(args[1], seen)
        return schema
    if tp in seen:
        return {"type": "object"}  # a recursive type: stop here
    if _is_pydantic(tp):
        return dict(tp.model_json_schema())
    if _is_typeddict(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        required = sorted(getattr(tp, "__required_keys__", hints))
        return _object({k: type_schema(v, seen | {tp}) for k, v in hints.items()}, required)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp, include_extras=True)
        fields = dataclasses.fields(tp)
        required = [
            f.name
            for f in fields
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        return _object({f.name: type_schema(hints[f.name], seen | {tp}) for f in fields}, required)
    raise TypeError(f"cannot describe the type {tp!r} as JSON schema; annotate with a JSON type")


def _enum(values: list[Any]) -> dict[str, Any]:
    kinds = {_PRIMITIVES.get(type(v)) for v in values}
    return {"type": kinds.pop(), "enum": values} if len(kinds) == 1 else {"enum": values}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def function_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    """An OpenAI tool definition for ``fn``: name, description, parameters."""
    summary, described = _doc_params(inspect.getdoc(fn) or "")
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except NameError as exc:
        raise TypeError(
            f"cannot resolve the annotations of {fn.__name__}: {exc} (define the types it "
            "uses at module level)"
        ) from None
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or name in ("self", "cls"):
            continue
        schema = type_schema(hints.get(name, param.annotation))
        if described.get(name):
            schema = {**schema, "description": described[name]}
        if param.default is inspect.Parameter.empty:
            required.append(name)
        elif isinstance(param.default, (str, int, float, bool, type(None))):
            schema = {**schema, "default": param.default}
        elif isinstance(param.default, enum.Enum):
            schema = {**schema, "default": param.default.value}
        properties[name] = schema
    function: dict[str, Any] = {"name": fn.__name__}
    if summary:
        function["description"] = summary
    function["parameters"] = _object(properties, required)
    return {"type": "function", "function": function}


def tool_schemas(tools: object) -> list[Any]:
    """``tools`` with every plain function turned into its tool definition."""
    if not isinstance(tools, (list, tuple)):
        raise TypeError("tools must be a list of functions or tool definitions (dicts)")
    return [function_schema(t) if callable(t) and not isinstance(t, Mapping) else t for t in tools]


# -- running the calls a model asked for ------------------------------------------------------


def _coerce(value: Any, tp: Any) -> Any:
    """Turn decoded JSON into the annotated type where it is a richer one."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _coerce(value, args[0])
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if _is_pydantic(tp) and isinstance(value, dict):
        return tp.model_validate(value)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type) and isinstance(value, dict):
        hints = typing.get_type_hints(tp)
        return tp(**{k: _coerce(v, hints.get(k, Any)) for k, v in value.items()})
    if origin in (list, Sequence, typing.Sequence) and args and isinstance(value, list):
        return [_coerce(v, args[0]) for v in value]
    if origin in (typing.Union, types.UnionType) and value is not None:
        for option in args:
            if option is not type(None):
                try:
                    return _coerce(value, option)
                except (TypeError, ValueError):
                    continue
    return value


def _prepare(
    calls: Any, functions: Sequence[Callable[..., Any]] | Mapping[str, Callable[..., Any]]
) -> tuple[list[dict[str, Any]], dict[str, Callable[..., Any]]]:
    import orjson

    raw = getattr(calls, "calls", calls)
    if not isinstance(raw, list):
        raise TypeError("pass the ToolCalls event (or its .calls list) the model returned")
    if isinstance(functions, Mapping):
        table = dict(functions)
    else:
        table = {f.__name__: f for f in functions}
    prepared = []
    for call in raw:
        fn = call.get("function", {})
        text = fn.get("arguments") or "{}"
        try:
            arguments = orjson.loads(text) if isinstance(text, str) else text
        except orjson.JSONDecodeError:
            arguments = None
        prepared.append(
            {
                "id": call.get("id", ""),
                "name": fn.get("name", ""),
                "arguments": arguments,
                "raw": call,
            }
        )
    return prepared, table


def _invoke_args(fn: Callable[..., Any], arguments: Any) -> dict[str, Any]:
    if not isinstance(arguments, dict):
        raise ValueError("the arguments are not a JSON object")
    hints = typing.get_type_hints(fn)
    return {k: _coerce(v, hints.get(k, Any)) for k, v in arguments.items()}


def _result_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    import orjson

    try:
        return orjson.dumps(result, default=str).decode()
    except TypeError:
        return str(result)


def _messages_for(prepared: list[dict[str, Any]], results: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"role": "assistant", "content": "", "tool_calls": [p["raw"] for p in prepared]}
    ]
    for call, result in zip(prepared, results, strict=True):
        out.append(
            {"role": "tool", "tool_call_id": call["id"], "name": call["name"], "content": result}
        )
    return out


def _start(call: dict[str, Any], table: Mapping[str, Callable[..., Any]]) -> tuple[str, Any]:
    """Call one tool: (result text, None), or ("", awaitable) for an ``async def`` tool.

    A failing call becomes an ``error: ...`` result for the model to read, not an exception.
    """
    fn = table.get(call["name"])
    if fn is None:
        return f"error: no tool named {call['name']!r}; available: {', '.join(table)}", None
    try:
        result = fn(**_invoke_args(fn, call["arguments"]))
    except Exception as exc:  # reported to the model, which may retry
        return f"error: {type(exc).__name__}: {exc}", None
    if inspect.isawaitable(result):
        return "", result
    return _result_text(result), None


def _finish(
    prepared: list[dict[str, Any]], results: list[str], messages: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    new = _messages_for(prepared, results)
    if messages is not None:
        messages.extend(new)
    return new


def run_tool_calls(
    calls: Any,
    functions: Sequence[Callable[..., Any]] | Mapping[str, Callable[..., Any]],
    messages: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Run the calls a model asked for and return the messages to send back.

    ``calls`` is a ``ToolCalls`` event (or its ``.calls``); ``functions`` the
    Python functions offered as tools. The assistant message carrying the calls
    and one ``tool`` message per call are appended to ``messages`` (when given)
    and returned. Use :func:`arun_tool_calls` for ``async def`` tools.
    """
    prepared, table = _prepare(calls, functions)
    results = []
    for call in prepared:
        text, pending = _start(call, table)
        if pending is not None:
            getattr(pending, "close", lambda: None)()
            text = f"error: {call['name']} is async: run it with arun_tool_calls"
        results.append(text)
    return _finish(prepared, results, messages)


async def arun_tool_calls(
    calls: Any,
    functions: Sequence[Callable[..., Any]] | Mapping[str, Callable[..., Any]],
    messages: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """As :func:`run_tool_calls`, awaiting ``async def`` tools."""
    prepared, table = _prepare(calls, functions)
    results = []
    for call in prepared:
        text, pending = _start(call, table)
        if pending is not None:
            try:
                text = _result_text(await pending)
            except Exception as exc:  # reported to the model, which may retry
                text = f"error: {type(exc).__name__}: {exc}"
        results.append(text)
    return _finish(prepared, results, messages)
