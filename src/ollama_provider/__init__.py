"""ollama-provider: list a local Ollama server's models and stream chat completions from them.

>>> from ollama_provider import Ollama
>>> async for item in Ollama.create_async_generator(model="llama3.2", messages=[...]):
...     print(item, end="")

Text arrives as ``str``; reasoning, tool calls, usage and the finish reason as
small typed events whose ``str()`` is "". Nothing heavy is imported here: the
network stack loads on the first request.
"""

from ._errors import (
    InvalidHostError,
    ModelNotFoundError,
    ProviderError,
    ProviderTimeoutError,
    ResponseStatusError,
    ServerUnreachableError,
    StreamInterruptedError,
)
from ._events import FinishReason, Reasoning, StreamEvent, ToolCalls, Usage
from ._models import ModelDetails, ModelInfo, PullProgress, RunningModel, ShowResult
from ._settings import Timeout
from ._types import AsyncResult, Messages, StreamItem
from ._version import __version__
from .providers import Ollama, OpenaiAPI

__all__ = [
    "AsyncResult",
    "FinishReason",
    "InvalidHostError",
    "Messages",
    "ModelDetails",
    "ModelInfo",
    "ModelNotFoundError",
    "Ollama",
    "OpenaiAPI",
    "ProviderError",
    "ProviderTimeoutError",
    "PullProgress",
    "Reasoning",
    "ResponseStatusError",
    "RunningModel",
    "ServerUnreachableError",
    "ShowResult",
    "StreamEvent",
    "StreamInterruptedError",
    "StreamItem",
    "Timeout",
    "ToolCalls",
    "Usage",
    "__version__",
    "aclose",
]


async def aclose() -> None:
    """Close the current event loop's connection pool now.

    ``asyncio.run`` closes it by itself; call this before closing a loop you
    manage by hand without ``loop.shutdown_asyncgens()``.
    """
    from ._transport import aclose_pool

    await aclose_pool()
