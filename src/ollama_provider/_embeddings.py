"""Embeddings in batches: split the inputs, send the batches concurrently (bounded), put
the vectors back in order. One failing batch fails the call, naming its inputs.

Ollama answers ``POST /api/embed`` with ``{"embeddings": [[...], ...]}``; OpenAI-compatible
servers answer ``POST {base}/embeddings`` with ``{"data": [{"index", "embedding"}]}``.
orjson decodes the vectors straight into Python floats: the only other copy of a
batch is its raw answer, held until it is parsed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import _pool
from ._catalog import ServerKind
from ._endpoint import Endpoint
from ._errors import Action, BadResponseError, ProviderError, Reason
from ._params import encode_body
from ._requests import fetch_json
from ._results import Embeddings
from ._timeout import Timeout

__all__ = ["EmbedCall", "check_inputs", "embed"]

_PER_VECTOR = 256 * 1024  # answer bytes allowed per input: a 20,000-dimension vector as JSON


def check_inputs(value: object) -> list[str]:
    """A clear error for input that is not text, or empty."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Sequence) or isinstance(value, (bytes, bytearray)):
        raise TypeError(f"input must be a string or a list of strings, not {type(value).__name__}")
    inputs = list(value)
    if not inputs:
        raise ValueError("input is empty: pass at least one string to embed")
    for i, text in enumerate(inputs):
        if not isinstance(text, str):
            raise TypeError(f"input[{i}] must be a string, not {type(text).__name__}")
    return inputs


@dataclass(slots=True)
class EmbedCall:
    endpoints: tuple[Endpoint, ...]  # one server, or several: batches go to the least busy
    kind: ServerKind
    model: str
    inputs: list[str]
    extra: dict[str, Any]  # truncate, dimensions, keep_alive, options: as the server names them
    timeout: Timeout
    batch_size: int = 256
    max_concurrency: int = 4


def _vectors(
    call: EmbedCall, endpoint: Endpoint, data: Any, count: int, path: str
) -> tuple[list[list[float]], int, str]:
    if isinstance(data, dict) and call.kind is ServerKind.OLLAMA and "embeddings" in data:
        vectors = data["embeddings"]
        tokens = data.get("prompt_eval_count") or 0
    elif isinstance(data, dict) and isinstance(data.get("data"), list):
        items = sorted(data["data"], key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
        vectors = [d.get("embedding") for d in items if isinstance(d, dict)]
        usage = data.get("usage")
        tokens = usage.get("prompt_tokens", 0) if isinstance(usage, dict) else 0
    else:
        vectors, tokens = None, 0
    if (
        not isinstance(vectors, list)
        or len(vectors) != count
        or not all(isinstance(v, list) for v in vectors)
    ):
        shown = f"{len(vectors)} vectors" if isinstance(vectors, list) else "no vectors"
        error = BadResponseError(
            reason=Reason.WRONG_SHAPE, detail=f"answered {count} inputs with {shown}",
            url=endpoint.base + path,
        )  # fmt: skip
        raise endpoint.annotate(error, Action.EMBED)
    model = data.get("model") if isinstance(data.get("model"), str) else call.model
    return vectors, int(tokens) if isinstance(tokens, int) else 0, model


def _payloads(call: EmbedCall, spans: list[tuple[int, int]]) -> list[bytes]:
    """Each batch's body as JSON, made before any request: text JSON cannot carry fails
    here, named by its place in the whole input."""
    try:
        return [
            encode_body({"model": call.model, "input": call.inputs[start:stop], **call.extra})
            for start, stop in spans
        ]
    except (TypeError, ValueError):
        encode_body({"input": call.inputs, **call.extra})  # the error, at its place in the input
        raise


async def _batch(
    call: EmbedCall, order: list[Endpoint], path: str, body: bytes, count: int, limit: int
) -> tuple[list[list[float]], int, str]:
    multi = len(order) > 1
    errors: list[ProviderError] = []
    for endpoint in _pool.by_load(order):
        _pool.begin(endpoint)
        try:
            data = await fetch_json(
                endpoint, "POST", path, call.timeout, body, action=Action.EMBED,
                model=call.model, limit=limit,
            )  # fmt: skip
        except ProviderError as error:
            if not _pool.try_next(endpoint, error, call.kind, multi):
                raise
            errors.append(error)
            continue
        finally:
            _pool.end(endpoint)
        _pool.succeeded(endpoint)
        return _vectors(call, endpoint, data, count, path)
    raise _pool.all_failed(errors, order, Action.EMBED)


async def embed(call: EmbedCall) -> Embeddings:
    """All the vectors, in the order of the inputs."""
    path = "/api/embed" if call.kind is ServerKind.OLLAMA else "/embeddings"
    size = call.batch_size  # both checked when the call was made (run_embed)
    count = len(call.inputs)
    spans = [(start, min(start + size, count)) for start in range(0, count, size)]
    payloads = _payloads(call, spans)
    _, order = await _pool.candidates(call.endpoints, call.kind, call.model, Action.EMBED)
    gate = asyncio.Semaphore(call.max_concurrency)

    async def one(start: int, stop: int, body: bytes) -> tuple[list[list[float]], int, str]:
        limit = max(16 << 20, (stop - start) * _PER_VECTOR)
        async with gate:
            try:
                return await _batch(call, order, path, body, stop - start, limit)
            except ProviderError as error:
                if len(spans) > 1:
                    error.inputs = range(start, stop)  # which inputs failed, in the message too
                raise

    tasks = [
        asyncio.ensure_future(one(start, stop, body))
        for (start, stop), body in zip(spans, payloads, strict=True)
    ]
    try:
        results = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()  # the other batches stop: the call has failed
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    vectors: list[list[float]] = []
    tokens = 0
    model = call.model
    for batch, used, answered in results:
        vectors += batch
        tokens += used
        model = answered or model
    return Embeddings(vectors, model, tokens)
