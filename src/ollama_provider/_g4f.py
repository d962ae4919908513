"""gpt4free (g4f) as a caller: ``g4f.client.Client(provider=Ollama)`` with the classes themselves.

Checked against g4f 7.0.0 (January 2026, the oldest claimed: ``scripts/floor.txt``, run by
``scripts/test-floor.sh``) and 8.8.6 (the newest on PyPI, December 2026: the ``test`` extra).

g4f never instantiates a provider. It reads class attributes and calls class
methods; the providers define the attributes it reads (``get_dict``,
``get_parent``, ``live``, ``use_stream_timeout``, ``supports_native_tools``,
``model_aliases``, and before g4f 7.5 ``create_function`` and
``async_create_function``; ``tests/test_g4f.py`` records every read). The
rest is here, and applies only when g4f is the caller:

- Who calls: :func:`called_by_g4f`. The nearest frame outside this package
  belongs to the module ``g4f`` or ``g4f.*`` (g4f calls the class methods from
  its own modules: client, tools.run_tools, providers.retry_provider, api).
  One short frame walk, a fraction of a microsecond, and g4f is never imported
  by it; a direct caller keeps its contract (events whose ``str()`` is "",
  a ``TypeError`` for an unknown keyword).
- What g4f passes: its bookkeeping (``provider``, ``ignored``,
  ``download_media``, ``conversation``, ``web_search``...) is accepted and not
  sent; ``base_url`` is ``api_base``; ``media=[(data, name)]`` become images
  on the last user message; ``timeout`` and ``stream_timeout`` become the
  first-byte and between-chunks waits. Any other unknown keyword is still a
  ``TypeError`` naming it.
- What g4f recognises: only instances of its own classes in
  ``g4f.providers.response``, so the events are converted to those (text
  stays ``str``; tool calls get the ``index`` an OpenAI stream delta needs).
  g4f has no class for log probabilities: ``Logprobs`` are not passed on.
- g4f's own counting: with ``max_tokens`` its client counts the chunks it
  sees and, on reaching ``max_tokens``, stops reading, reports ``length`` and
  estimates the usage. So once the answer is near the limit, the rest of its
  text (and reasoning) is passed on as one chunk, before the finish: g4f then
  reads the server's finish reason and usage. (With ``max_tokens`` of 3 or
  less, g4f may still cut at its count.)

Errors are not touched: ours reach the g4f caller as they are.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncGenerator, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ._events import FinishReason, Logprobs, Reasoning, ToolCalls, Usage
from ._timeout import CHAT_TIMEOUT, Timeout

if TYPE_CHECKING:
    from ._types import AsyncResult, Messages
    from .providers.openai_api import Base, OpenaiAPI

__all__ = ["called_by_g4f", "chat_for_g4f", "register_g4f"]

#: Keywords g4f passes for its own bookkeeping; none of them is sent to the server.
BOOKKEEPING = frozenset(
    {
        "provider",  # the provider class itself (sync path)
        "ignored",  # provider names RetryProvider skips
        "download_media",  # whether g4f saves generated media
        "conversation",  # g4f's server-side conversation handle; Ollama keeps none
        "conversation_id",
        "web_search",  # g4f has already searched and edited the messages
        "ignore_stream",
    }
)
_AUDIO = (".mp3", ".wav", ".ogg", ".flac", ".m4a", ".opus", ".weba")
# Room for one merged reasoning chunk, one merged text chunk and the tool calls.
_MERGED_TAIL = 3


def called_by_g4f() -> bool:
    """True when the nearest caller outside ``ollama_provider`` is g4f's code."""
    frame: FrameType | None = sys._getframe(2)  # the caller of the provider method that asks
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if not name.startswith("ollama_provider."):
            return name == "g4f" or name.startswith("g4f.")
        frame = frame.f_back  # create_completion -> create_async_generator, _client...
    return False


def chat_for_g4f(
    provider: type[OpenaiAPI],
    model: str,
    messages: Messages,
    api_base: Base,
    api_key: Any,
    stream: bool,
    timeout: Any,
    params: dict[str, Any],
    where: str,
) -> AsyncResult:
    """A chat as g4f asks for it: its keywords in, its chunk classes out."""
    for name in BOOKKEEPING & params.keys():
        del params[name]
    base_url = params.pop("base_url", None)
    if base_url is not None and api_base is not None and base_url != api_base:
        raise ValueError(f"base_url {base_url!r} and api_base {api_base!r} disagree; pass one")
    api_base = api_base if api_base is not None else base_url
    media = params.pop("media", None)
    if media:
        messages = _with_media(messages, media)
    wait = _wait(timeout, params.pop("stream_timeout", None))
    limit = params.get("max_tokens")  # the count g4f's client cuts at
    call = provider._chat_call(
        model, messages, api_base, _key(provider, api_key), stream, wait, params, where
    )
    from ._streaming import chat_items

    budget = max(limit - _MERGED_TAIL - 1, 0) if isinstance(limit, int) else None
    return _g4f_items(chat_items(call), budget)


def _key(provider: type[OpenaiAPI], api_key: Any) -> str | None:
    """g4f may pass keys per provider name, and its own service keys (``g4f_``, ``gfs_``)."""
    if isinstance(api_key, Mapping):
        api_key = api_key.get(provider.get_parent()) or api_key.get(provider.__name__)
    if isinstance(api_key, str) and api_key.startswith(("g4f_", "gfs_")):
        return None
    return api_key if api_key else None


def _wait(timeout: Any, stream_timeout: Any) -> Any:
    """g4f's ``timeout`` is the whole wait, ``stream_timeout`` the wait between chunks."""
    if isinstance(timeout, Timeout) or not (timeout or stream_timeout):
        return timeout or None
    first = float(timeout) if timeout else CHAT_TIMEOUT.first_byte
    between = float(stream_timeout or timeout)
    return Timeout(CHAT_TIMEOUT.connect, first, between)


def _image(data: Any, name: Any) -> Any:
    """One g4f media item as an image this library reads (path, bytes, base64, URL)."""
    label = str(name or (data if isinstance(data, str) and len(data) < 200 else "media"))
    audio = isinstance(data, str) and data.startswith("data:audio")
    if audio or (isinstance(name, str) and name.lower().endswith(_AUDIO)):
        raise ValueError(f"media {label!r} is audio; Ollama's chat takes images only")
    if hasattr(data, "read"):
        return data.read()
    if isinstance(data, os.PathLike):
        return Path(os.fspath(data))
    return data


def _with_media(messages: Messages, media: Any) -> list[Mapping[str, Any]]:
    """The messages with g4f's ``media=[(data, name), ...]`` as images on the last user message."""
    from ._messages import check_messages

    out = check_messages(messages)
    items = media if isinstance(media, (list, tuple)) else [media]
    images = [_image(*(m if isinstance(m, (list, tuple)) else (m, None))) for m in items]
    for i in range(len(out) - 1, -1, -1):
        if out[i].get("role") == "user":
            out[i] = {**out[i], "images": [*(out[i].get("images") or ()), *images]}
            return out
    raise ValueError("media needs a user message to go with")


async def _g4f_items(items: AsyncResult, budget: int | None) -> AsyncGenerator[Any, None]:
    """The stream in g4f's classes; past ``budget`` counted chunks, text is held and merged."""
    from g4f.providers import response as g4f

    counted = 0
    held_text: list[str] = []
    held_reasoning: list[str] = []

    def release() -> list[Any]:
        out: list[Any] = []
        if held_reasoning:
            out.append(g4f.Reasoning("".join(held_reasoning)))
        if held_text:
            out.append("".join(held_text))
        held_reasoning.clear()
        held_text.clear()
        return out

    try:
        async for item in items:
            if isinstance(item, str):
                if not item:
                    continue
                if budget is not None:
                    if counted >= budget:
                        held_text.append(item)
                        continue
                    counted += 1
                yield item
                continue
            if isinstance(item, Reasoning):
                if budget is not None:
                    if counted >= budget:
                        held_reasoning.append(item.text)
                        continue
                    counted += 1
                yield g4f.Reasoning(item.text)
                continue
            if isinstance(item, Logprobs):
                continue  # g4f has no place for them: ask this library directly
            for chunk in release():
                yield chunk
            yield _event(g4f, item)
        for chunk in release():
            yield chunk
    finally:
        await items.aclose()


def _event(g4f: Any, item: object) -> Any:
    if isinstance(item, FinishReason):
        return g4f.FinishReason(item.reason)
    if isinstance(item, Usage):
        return g4f.Usage(
            prompt_tokens=item.prompt_tokens,
            completion_tokens=item.completion_tokens,
            total_tokens=item.total_tokens,
        )
    if isinstance(item, ToolCalls):
        calls = [
            {"index": i, **call, "function": dict(call["function"])}
            for i, call in enumerate(item.calls)
        ]
        return g4f.ToolCalls(calls)
    return item


def register_g4f(*providers: type[OpenaiAPI]) -> None:
    """Make g4f's provider names (``"Ollama"``...) mean these classes, for its API server.

    g4f looks a provider named in a request up in its registry: a plain dict in
    g4f 7, a cache of loaded classes in 8.0 to 8.3, a loader's cache since 8.4.
    """
    from g4f import Provider

    if not providers:
        from .providers import Ollama

        providers = (Ollama,)
    loader = getattr(Provider, "ProviderLoader", None)  # 8.4 and later
    loaded = vars(Provider).get("_loaded_providers")  # 8.0 to 8.3
    for provider in providers:
        name = provider.__name__
        if loader is not None:
            loader.loaded[name] = provider
            loader.loaded[name.lower().replace("-", "").replace("_", "")] = provider
        elif loaded is not None:
            loaded[name] = provider
        else:  # g4f 7: one dict under two names
            Provider.ProviderUtils.convert[name] = provider
            Provider.__map__[name] = provider
