"""ollama-provider: list a local Ollama server's models and stream chat completions from them.

>>> from ollama_provider import Ollama
>>> async for item in Ollama.create_async_generator(model="llama3.2", messages=[...]):
...     print(item, end="")

Text arrives as ``str``; reasoning, tool calls, usage and the finish reason as
small typed events whose ``str()`` is "". Nothing heavy is imported here: the
network stack loads on the first request.
"""

from typing import TYPE_CHECKING

from ._address import ServerAddress, Source
from ._errors import (
    AllServersFailedError,
    BadResponseError,
    InvalidHostError,
    ModelNotFoundError,
    ProviderError,
    ProviderTimeoutError,
    ResponseStatusError,
    ServerUnreachableError,
    SomeServersFailedError,
    StreamInterruptedError,
)
from ._events import (
    Context,
    FinishReason,
    Logprobs,
    Reasoning,
    StreamEvent,
    TokenLogprob,
    ToolCalls,
    Usage,
)
from ._model_records import (
    ModelDetails,
    ModelInfo,
    Progress,
    PullProgress,
    RunningModel,
    ServerVersion,
    ShowResult,
)
from ._results import Embeddings, WebPage, WebSearchResult
from ._timeout import Timeout
from ._types import (
    AsyncResult,
    ChatParams,
    Messages,
    OllamaChatParams,
    RequestOptions,
    StreamItem,
)
from ._version import __version__
from .providers import Ollama, OpenaiAPI

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from ._g4f import register_g4f
    from ._tools import arun_tool_calls, function_schema, run_tool_calls

__all__ = [
    "AllServersFailedError",
    "AsyncClient",
    "AsyncResult",
    "BadResponseError",
    "ChatParams",
    "Client",
    "Context",
    "Embeddings",
    "FinishReason",
    "InvalidHostError",
    "Logprobs",
    "Messages",
    "ModelDetails",
    "ModelInfo",
    "ModelNotFoundError",
    "Ollama",
    "OllamaChatParams",
    "OpenaiAPI",
    "Progress",
    "ProviderError",
    "ProviderTimeoutError",
    "PullProgress",
    "Reasoning",
    "RequestOptions",
    "ResponseStatusError",
    "RunningModel",
    "ServerAddress",
    "ServerUnreachableError",
    "ServerVersion",
    "ShowResult",
    "SomeServersFailedError",
    "Source",
    "StreamEvent",
    "StreamInterruptedError",
    "StreamItem",
    "Timeout",
    "TokenLogprob",
    "ToolCalls",
    "Usage",
    "WebPage",
    "WebSearchResult",
    "__version__",
    "aclose",
    "arun_tool_calls",
    "function_schema",
    "register_g4f",
    "run_tool_calls",
]

# Loaded on first use, so that ``import ollama_provider`` stays small.
_LAZY = {
    "Client": "._client",
    "AsyncClient": "._client",
    "run_tool_calls": "._tools",
    "arun_tool_calls": "._tools",
    "function_schema": "._tools",
    "register_g4f": "._g4f",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ollama_provider' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


async def aclose() -> None:
    """Close the current event loop's connection pool now.

    ``asyncio.run`` closes it by itself; call this before closing a loop you
    manage by hand without ``loop.shutdown_asyncgens()``.
    """
    from ._transport import aclose_pool

    await aclose_pool()
