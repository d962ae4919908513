"""What every verb shares: the global options, running a coroutine, and error text.

Nothing heavy here: this module loads with ``--help``.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from .. import Ollama, ProviderError, ServerAddress

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "Settings",
    "error_text",
    "read_stdin",
    "run",
    "settings",
    "write_out",
]

T = TypeVar("T")
EXIT_ERROR = 1  # the server or the network (any ProviderError)
EXIT_USAGE = 2  # bad usage, as click's own usage errors
EXIT_INTERRUPTED = 130  # Ctrl-C


@dataclass
class Settings:
    """The global options, plus what the error handler needs to know about stdout."""

    host: str | None = None
    timeout: float | None = None
    debug: bool = False
    #: stdout holds an unfinished line (a streamed answer): Ctrl-C ends it with a newline
    stdout_partial: bool = False

    @property
    def api_base(self) -> ServerAddress:
        """The server, resolved once by the library: ``--host`` (so named in its messages),
        else OLLAMA_HOST/OLLAMA_PORT. An invalid value raises InvalidHostError."""
        host = self.host if self.host and self.host.strip() else None
        return Ollama.server_address(host, setting="--host")


def settings() -> Settings:
    return click.get_current_context().ensure_object(Settings)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run in the main thread: Ctrl-C cancels the task, which closes the HTTP connection."""
    import asyncio  # with its ssl and sockets: only for the verbs that talk to a server

    return asyncio.run(coro)


def write_out(state: Settings, text: str) -> None:
    """Text to stdout at once (streamed answers), remembering whether a line is open."""
    if not text:
        return
    sys.stdout.write(text)
    sys.stdout.flush()
    state.stdout_partial = not text.endswith("\n")


def error_text(exc: BaseException, state: Settings | None = None) -> str:
    """One line for an error: the library's words for a command-line user."""
    if isinstance(exc, ProviderError):
        from .._wording import CLI, describe

        words = describe(exc, CLI)
        return f"{words.message} {words.advice}".strip()
    return " ".join(str(exc).split()) or type(exc).__name__


def read_stdin() -> str:
    """All of stdin as text; bytes that are not UTF-8 are bad usage, not a traceback."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = data[exc.start : exc.start + 1].hex()
        reason = f"stdin is not UTF-8 text (byte 0x{byte} at position {exc.start})"
    raise click.UsageError(f"{reason}: convert it first, e.g. with iconv -f latin1 -t utf-8")
