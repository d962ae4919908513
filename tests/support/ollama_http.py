"""Response helpers shared by the fake Ollama's endpoint modules."""

from __future__ import annotations

from typing import Any

from .gojson import go_decode_error, go_dumps
from .httpmsg import Request, Response

__all__ = ["JSON_ENCODER", "JSON_GIN", "NDJSON", "SSE", "native_body", "send_json", "type_error"]

JSON_GIN = "application/json; charset=utf-8"  # gin's c.JSON: no trailing newline
JSON_ENCODER = "application/json"  # json.NewEncoder in the /v1 writers: trailing newline
NDJSON = "application/x-ndjson"
SSE = "text/event-stream"

_KINDS = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "bool",
    int: "number",
    float: "number",
}


async def send_json(
    response: Response, status: int, obj: Any, *, encoder: bool = False, bare: bool = False
) -> None:
    """gin's c.JSON by default; ``encoder`` = json.NewEncoder (application/json + newline);
    ``bare``: application/json without charset or newline (a streaming handler's early error)."""
    if encoder:
        await response.send(status, go_dumps(obj, newline=True), JSON_ENCODER)
    else:
        await response.send(status, go_dumps(obj), JSON_ENCODER if bare else JSON_GIN)


async def native_body(response: Response, request: Request, go_type: str) -> dict[str, Any] | None:
    """Decode a native request body, or answer 400 the way Ollama does and return None."""
    value, error = go_decode_error(request.body, go_type, empty="missing request body")
    if error is not None:
        await send_json(response, 400, {"error": error})
        return None
    return value


def type_error(struct: str, field: str, go_type: str, value: Any) -> str:
    """encoding/json's UnmarshalTypeError text."""
    kind = _KINDS.get(type(value), "value")
    return f"json: cannot unmarshal {kind} into Go struct field {struct}.{field} of type {go_type}"
