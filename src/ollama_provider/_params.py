"""Call parameters: which are accepted, and the request bodies they make. Pure.

A parameter is either sent in the JSON body, a connection setting, or an
error: nothing is dropped in silence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "BODY_PARAMS",
    "CONNECTION_PARAMS",
    "NATIVE_PARAMS",
    "OLLAMA_OPTIONS",
    "REQUEST_OPTIONS",
    "check_model_name",
    "check_think",
    "encode_body",
    "format_of",
    "native_body",
    "native_options",
    "openai_body",
    "options_of",
    "reject_unknown",
    "request_options",
    "required_model",
    "response_format_of",
]

# Sent as they are in an OpenAI chat.completions body.
BODY_PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "stop",
        "seed",
        "response_format",
        "tools",
        "tool_choice",
        "reasoning_effort",
        "frequency_penalty",
        "presence_penalty",
        "logprobs",
        "top_logprobs",
        "user",
        "parallel_tool_calls",
        "logit_bias",
        "max_completion_tokens",
        "reasoning",
    }
)
# How to connect, not what to ask.
CONNECTION_PARAMS = frozenset(
    {
        "headers",
        "extra_body",
        "proxy",
        "verify",
        "max_line_size",
    }
)
# Ollama's own API only: their presence routes a call to POST /api/chat.
NATIVE_PARAMS = frozenset({"keep_alive", "options", "think", "format"})
_UNSAFE_NAME = re.compile(r"[\s\x00-\x1f\x7f]")
# OpenAI names that have a place in Ollama's native options.
_TO_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_tokens": "num_predict",
    "max_completion_tokens": "num_predict",
    "seed": "seed",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}


#: Ollama's runtime options (``options={...}`` on its native API), for suggestions.
OLLAMA_OPTIONS = frozenset(
    {
        "num_ctx", "num_predict", "num_keep", "num_batch", "num_gpu", "num_thread", "main_gpu",
        "top_k", "top_p", "min_p", "typical_p", "repeat_last_n", "repeat_penalty", "mirostat",
        "mirostat_tau", "mirostat_eta", "penalize_newline", "use_mmap", "use_mlock", "numa",
        "low_vram", "tfs_z",
    }
)  # fmt: skip


def reject_unknown(
    params: Mapping[str, Any],
    allowed: frozenset[str],
    where: str,
    otherwise: str = "put other fields for the server in extra_body={...}",
) -> None:
    """A TypeError naming each unknown keyword, with the likely fix for it
    (``otherwise`` when no option comes close)."""
    unknown = sorted(set(params) - allowed)
    if not unknown:
        return
    import difflib

    described = []
    plain = False
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(allowed), n=1)
        if close:
            described.append(f"{name!r} (did you mean {close[0]!r}?)")
        elif name in OLLAMA_OPTIONS and "options" in allowed:
            described.append(f"{name!r} (an Ollama option: pass options={{{name!r}: ...}})")
        elif name in OLLAMA_OPTIONS:
            described.append(f"{name!r} (an Ollama option: use the Ollama provider's options=)")
        else:
            described.append(repr(name))
            plain = True
    tail = f"; {otherwise}" if plain else ""
    raise TypeError(f"{where} got unexpected keyword argument(s) {', '.join(described)}{tail}")


_THINK_LEVELS = ("low", "medium", "high")


def check_think(value: object) -> object:
    """``think`` is True, False or a level (``"low"``, ``"medium"``, ``"high"``)."""
    if value is None or isinstance(value, bool) or value in _THINK_LEVELS:
        return value
    raise ValueError(
        f"think must be True, False or one of {', '.join(_THINK_LEVELS)}, not {value!r}"
    )


def options_of(value: object) -> dict[str, Any]:
    """Ollama's ``options``: a dict such as ``{"num_ctx": 8192}``."""
    if not isinstance(value, Mapping):
        raise TypeError(f"options must be a dict such as {{'num_ctx': 8192}}, not {value!r}")
    return dict(value)


def format_of(value: Any) -> Any:
    """Ollama's ``format``: "json", a JSON schema dict, or a pydantic model class's schema."""
    if isinstance(value, type) and hasattr(value, "model_json_schema"):
        return value.model_json_schema()
    if value is None or value == "json" or isinstance(value, Mapping):
        return value
    raise TypeError(f"format must be 'json', a JSON schema dict or a pydantic model, not {value!r}")


#: The keyword options every call takes besides its own (see ``RequestOptions``).
REQUEST_OPTIONS = ("api_key", "timeout", "headers", "proxy", "verify")
_REQUEST_OPTION_SET = frozenset(REQUEST_OPTIONS)
_ACCEPTED = "accepted: " + ", ".join(REQUEST_OPTIONS)


def request_options(options: Mapping[str, Any], where: str) -> tuple[Any, Any, dict[str, Any]]:
    """(api_key, timeout, connection) from ``**options`` (see ``RequestOptions``); an
    unknown keyword is a TypeError naming it, as a named parameter would be."""
    reject_unknown(options, _REQUEST_OPTION_SET, where, _ACCEPTED)
    connection = {
        "headers": options.get("headers"),
        "proxy": options.get("proxy"),
        "verify": options.get("verify", True),
    }
    return options.get("api_key"), options.get("timeout"), connection


def check_model_name(model: object) -> str:
    """Model names travel only in JSON bodies; control characters and blanks are refused."""
    if not isinstance(model, str):
        raise TypeError(f"model must be a string, not {type(model).__name__}")
    if _UNSAFE_NAME.search(model):
        raise ValueError(f"model name {model!r} contains blanks or control characters")
    return model


def required_model(model: object, example: str = "llama3.2") -> str:
    """A model name that must be given (management, embeddings): as
    :func:`check_model_name`, and empty is a ValueError showing ``example``."""
    name = check_model_name(model)
    if not name:
        raise ValueError(f"a model name is required, e.g. {example!r}")
    return name


def openai_body(
    model: str,
    messages: list[Any],
    stream: bool,
    params: Mapping[str, Any],
    extra_body: Mapping[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    for name, value in params.items():
        if value is not None:
            body[name] = value
    if extra_body:
        body.update(extra_body)
    return body


def response_format_of(value: Any) -> Any:
    """``response_format`` as OpenAI wants it, from a pydantic model class or a bare schema too."""
    if isinstance(value, type) and hasattr(value, "model_json_schema"):
        return {
            "type": "json_schema",
            "json_schema": {
                "name": value.__name__,
                "schema": value.model_json_schema(),
                "strict": True,
            },
        }
    if isinstance(value, Mapping) and value.get("type") not in (
        "json_object",
        "json_schema",
        "text",
    ):
        return {"type": "json_schema", "json_schema": {"name": "response", "schema": dict(value)}}
    return value


def _format_of(response_format: Any) -> Any:
    if not isinstance(response_format, Mapping):
        raise TypeError("response_format must be a dict such as {'type': 'json_object'}")
    kind = response_format.get("type")
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        schema = response_format.get("json_schema", {})
        return schema.get("schema", schema) if isinstance(schema, Mapping) else schema
    if kind == "text":
        return None
    raise ValueError(f"response_format type {kind!r} is not json_object, json_schema or text")


def native_options(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Ollama's native ``options`` for the OpenAI-named sampling parameters, the other
    parameters); None values are left out of both."""
    options: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue
        if name in _TO_OPTIONS:
            options[_TO_OPTIONS[name]] = value
        elif name == "stop":
            options["stop"] = [value] if isinstance(value, str) else list(value)
        else:
            rest[name] = value
    return options, rest


def native_body(
    model: str,
    messages: list[Any],
    stream: bool,
    params: Mapping[str, Any],
    native: Mapping[str, Any],
    extra_body: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """A body for Ollama's ``/api/chat`` from OpenAI-style and native parameters."""
    body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
    options, rest = native_options(params)
    for name, value in rest.items():
        if name == "response_format":
            fmt = _format_of(value)
            if fmt is not None:
                body["format"] = fmt
        elif name == "tools":
            body["tools"] = value
        elif name == "reasoning_effort":
            body["think"] = False if value == "none" else value
        elif name == "reasoning" and isinstance(value, Mapping) and "effort" in value:
            body["think"] = False if value["effort"] == "none" else value["effort"]
        elif name in ("logprobs", "top_logprobs"):
            body[name] = value
        else:
            raise ValueError(
                f"{name!r} has no equivalent in Ollama's native API, which this call uses "
                f"because it passes {', '.join(sorted(native))}; drop one of them"
            )
    user_options = native.get("options")
    if user_options is not None:
        options.update(options_of(user_options))
    if options:
        body["options"] = options
    if native.get("keep_alive") is not None:
        body["keep_alive"] = native["keep_alive"]
    if native.get("think") is not None:
        body["think"] = check_think(native["think"])
    if native.get("format") is not None:
        body["format"] = format_of(native["format"])
    if extra_body:
        body.update(extra_body)
    return body


def _find_unencodable(value: Any, path: str) -> tuple[str, str] | None:
    """(where, why) for the first value JSON cannot carry, searched depth-first."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            char = value[exc.start]
            return path, (
                f"holds text that is not valid Unicode (a lone surrogate {char!r} at position "
                f"{exc.start}, as when bytes were decoded with errors='surrogateescape')"
            )
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _find_unencodable(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _find_unencodable(item, f"{path}[{i}]")
            if found:
                return found
        return None
    if value is None or isinstance(value, (bool, int, float)):
        return None
    return path, f"is a {type(value).__name__}, which JSON cannot carry"


def encode_body(body: object) -> bytes:
    """The request body as JSON, now: a value JSON cannot carry fails when the call is made."""
    import orjson

    try:
        return orjson.dumps(body)
    except (orjson.JSONEncodeError, TypeError):
        pass  # described below, outside the handler
    found = _find_unencodable(body, "")
    where, why = found if found else ("the request", "cannot be encoded as JSON")
    if "Unicode" in why:
        raise ValueError(f"{where} {why}: decode such input with errors='replace', or fix it")
    raise TypeError(f"{where} {why}")
