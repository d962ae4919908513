"""Moving models: pull, push and create, each a stream of :class:`Progress` lines.

``create`` takes a Modelfile's fields (or the Modelfile itself) and uploads
what ``FROM``/``ADAPTER`` name on this machine (a GGUF file, a safetensors
folder) as blobs, skipping any the server already has (``HEAD
/api/blobs/sha256:…``). An answer that ends before ``success`` is an error:
the model would not be usable.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import Action, BadResponseError, Reason, StreamInterruptedError
from .._model_records import Progress
from .._params import required_model
from .._timeout import CHAT_TIMEOUT, DEFAULT_TIMEOUT, Timeout

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._endpoint import Endpoint
    from .._types import RequestOptions
    from .openai_api import Base

__all__ = ["TransferMixin"]

_UPLOAD_TIMEOUT = Timeout(first_byte=3600.0, between_chunks=3600.0)  # a blob of many GB


class TransferMixin:
    """Mixed into ``Ollama``; relies on its ``_prepare``."""

    @classmethod
    async def pull(
        cls,
        model: str,
        api_base: Base = None,
        *,
        insecure: bool = False,
        **options: Unpack[RequestOptions],
    ) -> AsyncIterator[Progress]:
        """Download a model: progress lines as they come. A failure line raises; so does
        an answer that ends before ``success``."""
        body = {"model": required_model(model), "stream": True}
        if insecure:
            body["insecure"] = True
        endpoints, timeout = cls._prepare(api_base, options, "pull()")  # type: ignore[attr-defined]
        async for progress in _on_each(endpoints, "/api/pull", body, timeout, Action.PULL):
            yield progress

    @classmethod
    async def push(
        cls,
        model: str,
        api_base: Base = None,
        *,
        insecure: bool = False,
        **options: Unpack[RequestOptions],
    ) -> AsyncIterator[Progress]:
        """Upload a model to its registry (its name says which: ``user/model``)."""
        body = {"model": required_model(model), "stream": True}
        if insecure:
            body["insecure"] = True
        endpoints, timeout = cls._prepare(api_base, options, "push()")  # type: ignore[attr-defined]
        async for progress in _on_each(endpoints, "/api/push", body, timeout, Action.PUSH):
            yield progress

    @classmethod
    async def create(
        cls,
        model: str,
        api_base: Base = None,
        *,
        from_: str | Path | None = None,
        modelfile: str | Path | None = None,
        template: str | None = None,
        system: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        license: str | Sequence[str] | None = None,
        messages: Sequence[Mapping[str, str]] | None = None,
        adapters: Sequence[str | Path] | None = None,
        quantize: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncIterator[Progress]:
        """Create ``model`` from another model, a local GGUF file or safetensors folder
        (``from_``), or a Modelfile (its text, or a ``Path`` to it); explicit fields
        win over the Modelfile's. Local files are uploaded first, when the server
        lacks them. Progress lines as they come."""
        from .._modelfile import local_path, parse_modelfile

        name = required_model(model)
        fields: dict[str, Any] = {}
        local: Path | None = None
        adapter_paths: list[Path] = [Path(a) for a in adapters or ()]
        if modelfile is not None:
            parsed = _read_modelfile(modelfile, parse_modelfile)
            local = parsed.from_path
            if parsed.from_:
                fields["from"] = parsed.from_
            fields.update(
                {k: v for k, v in (
                    ("template", parsed.template), ("system", parsed.system),
                    ("parameters", parsed.parameters or None), ("license", parsed.license or None),
                    ("messages", parsed.messages or None), ("requires", parsed.requires),
                ) if v is not None}
            )  # fmt: skip
            adapter_paths = adapter_paths or parsed.adapters
        if from_ is not None:
            local = local_path(str(from_), Path.cwd())
            fields["from"] = None if local else str(from_)
        for key, value in (
            ("template", template), ("system", system), ("quantize", quantize),
            ("parameters", dict(parameters) if parameters else None),
            ("license", [license] if isinstance(license, str) else license),
            ("messages", [dict(m) for m in messages] if messages else None),
        ):  # fmt: skip
            if value is not None:
                fields[key] = value
        fields = {k: v for k, v in fields.items() if v is not None}
        if local is None and "from" not in fields:
            raise ValueError("create needs from_= (a model, or a local GGUF file) or a modelfile")
        endpoints, timeout = cls._prepare(api_base, options, "create()")  # type: ignore[attr-defined]
        uploads = [(local, "files")] if local is not None else []
        uploads += [(adapter, "adapters") for adapter in adapter_paths]
        body = {"model": name, "stream": True, **fields}
        async for progress in _on_each(
            endpoints, "/api/create", body, timeout, Action.CREATE, uploads
        ):
            yield progress

    # -- sync forms ----------------------------------------------------------------------

    @classmethod
    def pull_sync(
        cls,
        model: str,
        api_base: Base = None,
        *,
        insecure: bool = False,
        **options: Unpack[RequestOptions],
    ) -> Iterator[Progress]:
        return _iterate(cls.pull(model, api_base, insecure=insecure, **options))

    @classmethod
    def push_sync(
        cls,
        model: str,
        api_base: Base = None,
        *,
        insecure: bool = False,
        **options: Unpack[RequestOptions],
    ) -> Iterator[Progress]:
        return _iterate(cls.push(model, api_base, insecure=insecure, **options))

    @classmethod
    def create_sync(
        cls,
        model: str,
        api_base: Base = None,
        *,
        from_: str | Path | None = None,
        modelfile: str | Path | None = None,
        template: str | None = None,
        system: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        license: str | Sequence[str] | None = None,
        messages: Sequence[Mapping[str, str]] | None = None,
        adapters: Sequence[str | Path] | None = None,
        quantize: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Iterator[Progress]:
        return _iterate(
            cls.create(
                model, api_base, from_=from_, modelfile=modelfile, template=template,
                system=system, parameters=parameters, license=license, messages=messages,
                adapters=adapters, quantize=quantize, **options,
            )
        )  # fmt: skip


def _iterate(agen: AsyncIterator[Progress]) -> Iterator[Progress]:
    from .._sync import iterate

    return iterate(agen)


def _read_modelfile(modelfile: str | Path, parse: Any) -> Any:
    if isinstance(modelfile, Path):
        return parse(modelfile.read_text("utf-8"), modelfile.resolve().parent)
    return parse(modelfile)


async def _on_each(
    endpoints: tuple[Endpoint, ...],
    path: str,
    body: dict[str, Any],
    timeout: float | Timeout | None,
    action: Action,
    uploads: Sequence[tuple[Path, str]] = (),
) -> AsyncIterator[Progress]:
    """The transfer on each server in turn (files uploaded to each first); several
    servers: every line says which, and failures are reported together at the end."""
    from .._errors import ProviderError
    from .._pool import some_failed

    errors: dict[str, ProviderError] = {}
    for endpoint in endpoints:
        try:
            sent = dict(body)
            for local, field in uploads:
                sent.setdefault(field, {}).update(await _upload_all(endpoint, local))
            async for progress in _progress(endpoint, path, sent, timeout, action):
                yield progress if len(endpoints) == 1 else replace(progress, server=endpoint.base)
        except ProviderError as error:
            if len(endpoints) == 1:
                raise
            errors[endpoint.base] = error
    if errors:
        raise some_failed(errors, endpoints, action)


async def _progress(
    endpoint: Endpoint,
    path: str,
    body: dict[str, Any],
    timeout: float | Timeout | None,
    action: Action,
) -> AsyncIterator[Progress]:
    from .._requests import ndjson_objects

    wait = Timeout.of(timeout, CHAT_TIMEOUT)
    last = ""
    async for line in ndjson_objects(endpoint, path, body, wait, action):
        progress = Progress.parse(line)
        last = progress.status
        yield progress
    if last != "success":
        error = StreamInterruptedError(
            reason=Reason.UNFINISHED, detail=last, url=endpoint.base + path
        )
        raise endpoint.annotate(error, action)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


async def _upload_all(endpoint: Endpoint, path: Path) -> dict[str, str]:
    """Upload a file, or every file of a folder; ``{file name: digest}`` for /api/create."""
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    if not files:
        raise ValueError(f"{path} holds no files to create a model from")
    import asyncio

    found: dict[str, str] = {}
    for file in files:
        digest = await asyncio.to_thread(_digest, file)  # hashing GBs must not block the loop
        await _upload(endpoint, file, digest)
        found[file.name] = digest
    return found


async def _upload(endpoint: Endpoint, file: Path, digest: str) -> None:
    """``POST /api/blobs/<digest>`` with the file, unless the server has it already."""
    from .._requests import status_error

    path = f"/api/blobs/{digest}"
    head = endpoint.request("HEAD", path, DEFAULT_TIMEOUT)
    response = await endpoint.send(head, Action.CREATE)
    response.close()
    if response.status == 200:
        return
    with open(file, "rb") as body:
        request = endpoint.request(
            "POST", path, _UPLOAD_TIMEOUT, body, content_type="application/octet-stream"
        )
        response = await endpoint.send(request, Action.CREATE)
        if response.status >= 300:
            raise await status_error(response, request, endpoint, Action.CREATE)
        await response.finish()
    if response.status not in (200, 201):
        error = BadResponseError(
            reason=Reason.WRONG_SHAPE, status=response.status,
            detail=f"answered {response.status} to an upload", url=request.url,
        )  # fmt: skip
        raise endpoint.annotate(error, Action.CREATE)
