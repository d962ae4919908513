"""What every verb shares: the global options, running a coroutine, and error text.

Nothing heavy here: this module loads with ``--help``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import Ollama, ProviderError, ServerAddress

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "Settings",
    "error_text",
    "global_options",
    "is_terminal",
    "read_stdin",
    "run",
    "settings",
    "write_out",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
EXIT_ERROR = 1  # the server or the network (any ProviderError)
EXIT_USAGE = 2  # bad usage, as click's own usage errors
EXIT_INTERRUPTED = 130  # Ctrl-C


@dataclass
class Settings:
    """The global options, plus what the error handler needs to know about stdout."""

    hosts: tuple[str, ...] = ()  # --host, as often as it is given
    timeout: float | None = None
    debug: bool = False
    api_key: str | None = None
    api_key_file: Path | None = None
    #: stdout holds an unfinished line (a streamed answer): Ctrl-C ends it with a newline
    stdout_partial: bool = False

    @property
    def api_base(self) -> ServerAddress | tuple[ServerAddress, ...]:
        """The server(s), resolved once by the library: ``--host`` (so named in its
        messages; several when repeated), else OLLAMA_HOST (a comma-separated list for
        several) and OLLAMA_PORT. An invalid value raises InvalidHostError."""
        hosts = [h for h in self.hosts if h.strip()]
        addresses = Ollama.server_addresses(hosts or None, setting="--host")
        return addresses[0] if len(addresses) == 1 else addresses

    @property
    def servers(self) -> tuple[ServerAddress, ...]:
        """Every server the command talks to."""
        base = self.api_base
        return base if isinstance(base, tuple) else (base,)

    @cached_property
    def key(self) -> str | None:
        """``--api-key``, else the first line of ``--api-key-file`` (read once; setting either
        option again forgets it); None lets the library use OLLAMA_API_KEY for a remote
        server. Never printed."""
        if self.api_key and self.api_key.strip():
            return self.api_key.strip()
        if self.api_key_file is None:
            return None
        try:
            text = self.api_key_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise click.BadParameter(
                f"cannot read {self.api_key_file}: {why}", param_hint="'--api-key-file'"
            ) from None
        lines = text.strip().splitlines()
        if not lines:
            raise click.BadParameter(f"{self.api_key_file} is empty", param_hint="'--api-key-file'")
        return lines[0].strip()

    @property
    def call(self) -> dict[str, Any]:
        """The keyword arguments every library call takes from the global options."""
        return {"timeout": self.timeout, "api_key": self.key}


def settings() -> Settings:
    return click.get_current_context().ensure_object(Settings)


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Keep a global option given before or after the verb (a later one wins)."""
    if value is None or value is False or param.name is None:
        return
    state = ctx.ensure_object(Settings)
    if param.name == "hosts":
        state.hosts += tuple(value)  # given before and after the verb: all of them
        return
    setattr(state, param.name, value)
    if param.name in ("api_key", "api_key_file"):
        state.__dict__.pop("key", None)  # the cached key came from the old value
    if param.name == "debug":
        _debug_log()


def _debug_log() -> None:
    logger = logging.getLogger("ollama_provider")
    if any(getattr(h, "_ollama_provider_cli", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
    handler._ollama_provider_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def global_options(*, hidden: bool) -> Callable[[F], F]:
    """``--host``, ``--timeout``, ``--api-key``, ``--api-key-file``, ``--debug``: on the group
    (shown in its help), and hidden on every verb, so they work after the verb as well."""
    common: dict[str, Any] = {"expose_value": False, "callback": _store, "hidden": hidden}

    def decorate(f: F) -> F:
        for option in reversed(
            [
                click.option(
                    "--host",
                    "hosts",
                    metavar="URL",
                    multiple=True,
                    help="The Ollama server, like OLLAMA_HOST; repeat it for several "
                    "(default: OLLAMA_HOST, OLLAMA_PORT, else 127.0.0.1:11434).",
                    **common,
                ),
                click.option(
                    "--timeout",
                    type=click.FloatRange(min=0, min_open=True),
                    metavar="SECONDS",
                    help="Give up when the server is silent this long.",
                    **common,
                ),
                click.option(
                    "--api-key",
                    metavar="KEY",
                    help="Sent as a bearer token (default: OLLAMA_API_KEY, for a remote "
                    "Ollama). Visible to other users in the process list: prefer the file.",
                    **common,
                ),
                click.option(
                    "--api-key-file",
                    type=click.Path(dir_okay=False, path_type=Path),
                    metavar="FILE",
                    help="Read the API key from the first line of FILE.",
                    **common,
                ),
                click.option(
                    "--debug",
                    is_flag=True,
                    default=False,
                    help="Details of errors, tracebacks and the library's debug log on stderr.",
                    **common,
                ),
            ]
        ):
            f = option(f)
        return f

    return decorate


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run in the main thread: Ctrl-C cancels the task, which closes the HTTP connection."""
    import asyncio  # with its ssl and sockets: only for the verbs that talk to a server

    return asyncio.run(coro)


def is_terminal(stream: Any) -> bool:
    """A real terminal that can draw (not TERM=dumb): where spinners and bars may appear."""
    import os

    isatty = getattr(stream, "isatty", None)
    if isatty is None or not isatty():
        return False
    return os.environ.get("TERM", "") not in ("dumb", "unknown")


def write_out(state: Settings, text: str) -> None:
    """Text to stdout at once (streamed answers), remembering whether a line is open."""
    if not text:
        return
    sys.stdout.write(text)
    sys.stdout.flush()
    state.stdout_partial = not text.endswith("\n")


def error_text(exc: BaseException) -> str:
    """One line for an error: the library's words for a command-line user."""
    if isinstance(exc, ProviderError):
        from .._wording import CLI, describe

        words = describe(exc, CLI)
        return f"{words.message} {words.advice}".strip()
    return " ".join(str(exc).split()) or type(exc).__name__


def error_details(exc: BaseException) -> list[str]:
    """What ``--debug`` adds before the error line: the error's facts and its cause, which
    the library has already cleaned of secrets."""
    lines = [f"error type: {type(exc).__module__}.{type(exc).__qualname__}"]
    for name in ("url", "reason", "detail", "status", "server_message", "phase", "setting"):
        value = getattr(exc, name, None)
        if value not in (None, ""):
            shown = getattr(value, "value", value)
            lines.append(f"{name.replace('_', ' ')}: {shown}")
    cause = exc.__cause__
    if cause is not None:
        lines.append(f"cause: {type(cause).__name__}: {cause}")
    return lines


def read_stdin() -> str:
    """All of stdin as text; bytes that are not UTF-8 are bad usage, not a traceback."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = data[exc.start : exc.start + 1].hex()
        reason = f"stdin is not UTF-8 text (byte 0x{byte} at position {exc.start})"
    raise click.UsageError(f"{reason}: convert it first, e.g. with iconv -f latin1 -t utf-8")
