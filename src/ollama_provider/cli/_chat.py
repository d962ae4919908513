"""Streaming one answer: the text to stdout as it comes, the rest on stderr.

On a terminal (stdout and stderr both, not TERM=dumb) a spinner shows until the
first text, and "Thinking…" while a model thinks unless ``--show-reasoning``
prints the thinking itself; through a pipe nothing but the answer is written.
The stream runs with ``asyncio.run`` in the main thread, so Ctrl-C cancels the
task and the library closes the connection (the server stops generating).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from .. import FinishReason, Ollama, ProviderError, Reasoning, ToolCalls, Usage
from .._types import AsyncResult
from .._wording import CLI, truncation_warning
from ._common import EXIT_INTERRUPTED, Settings, is_terminal, run, write_out

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

__all__ = ["Printer", "interactive", "one_shot", "one_shot_items", "print_answer", "stream_reply"]


class Printer:
    """Writes stream items as they come: text to stdout; reasoning (dimmed) to stderr
    when asked; or, with ``json_lines``, every item as one JSON object per line."""

    def __init__(
        self,
        state: Settings,
        *,
        json_lines: bool,
        show_reasoning: bool,
        verbose: bool = False,
        model: str = "",
    ) -> None:
        self.state = state
        self.model = model
        self.json_lines = json_lines
        self.show_reasoning = show_reasoning
        self.verbose = verbose
        self.text: list[str] = []
        self.finish_reason = ""
        self.usage: Usage | None = None
        self._err: Console | None = None
        self._reasoning_open = False
        self._spinner: Status | None = None
        self._started = time.monotonic()
        self._first: float | None = None
        self._ended: float | None = None

    # -- the spinner -------------------------------------------------------------

    def wait(self) -> None:
        """Show a spinner until the first text (on a terminal only)."""
        self._started = time.monotonic()
        if self.json_lines or not (is_terminal(sys.stdout) and is_terminal(sys.stderr)):
            return
        self._spinner = self._console().status("", spinner="dots")
        self._spinner.start()

    def _stop_spinner(self) -> None:
        spinner, self._spinner = self._spinner, None
        if spinner is not None:
            spinner.stop()

    # -- items -----------------------------------------------------------------------

    def __call__(self, item: object) -> None:
        if self._first is None and (item if isinstance(item, str) else _thought(item)):
            self._first = time.monotonic()
        if isinstance(item, Usage):
            self.usage = item
        if self.json_lines:
            self._json(item)
        elif isinstance(item, str):
            if item:
                self._stop_spinner()
                self._close_reasoning()
            self.text.append(item)
            write_out(self.state, item)
        elif isinstance(item, Reasoning):
            if self.show_reasoning and item.text:
                self._stop_spinner()
                self._reasoning(item.text)
            elif self._spinner is not None and item.text:
                self._spinner.update("[dim]Thinking…[/]")
        elif isinstance(item, ToolCalls):
            self._stop_spinner()
            self._close_reasoning()
            for call in item.calls:
                function = call.get("function") or {}
                sys.stderr.write(
                    f"tool call: {function.get('name', '?')}({function.get('arguments', '')})\n"
                )
        elif isinstance(item, FinishReason):
            self.finish_reason = item.reason

    def _json(self, item: object) -> None:
        event: dict[str, Any]
        if isinstance(item, str):
            self.text.append(item)
            event = {"type": "text", "text": item}
        elif isinstance(item, Reasoning):
            event = {"type": "reasoning", "text": item.text}
        elif isinstance(item, ToolCalls):
            event = {"type": "tool_calls", "calls": item.calls}
        elif isinstance(item, Usage):
            event = {
                "type": "usage",
                "prompt_tokens": item.prompt_tokens,
                "completion_tokens": item.completion_tokens,
                "total_tokens": item.total_tokens,
            }
        elif isinstance(item, FinishReason):
            self.finish_reason = item.reason
            event = {"type": "finish", "reason": item.reason}
        else:
            return
        write_out(self.state, json.dumps(event, ensure_ascii=False) + "\n")

    def _console(self) -> Console:
        if self._err is None:
            from ._render import stderr_console

            self._err = stderr_console()
        return self._err

    def _reasoning(self, text: str) -> None:
        self._console().out(text, style="dim", end="", highlight=False)
        sys.stderr.flush()
        self._reasoning_open = not text.endswith("\n")

    def _close_reasoning(self) -> None:
        if self._reasoning_open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._reasoning_open = False

    # -- the end -----------------------------------------------------------------------

    def abort(self, *, interrupted: bool = False) -> None:
        """End open lines before an error line, or after Ctrl-C (whose ^C echo needs one)."""
        self._stop_spinner()
        was_open = self._reasoning_open
        self._close_reasoning()
        if self.state.stdout_partial:
            write_out(self.state, "\n")
        elif interrupted and not was_open:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def close(self) -> None:
        """End open lines; then, on stderr, a note when the answer was cut by the token limit
        or the prompt by the context window (the server truncated it), and with
        ``--verbose`` the timing and token counts."""
        self._ended = time.monotonic()
        self._stop_spinner()
        self._close_reasoning()
        if self.state.stdout_partial:
            write_out(self.state, "\n")
        if self.finish_reason == "length" and not self.json_lines:
            sys.stderr.write(f"note: the answer stopped at the token limit ({CLI.max_tokens})\n")
        if self.usage is not None and self.usage.truncated:
            words = truncation_warning(self.model, self.usage.prompt_tokens, CLI)
            sys.stderr.write(f"note: {words}\n")
        if self.verbose:
            sys.stderr.write(self.stats())
        sys.stderr.flush()

    def stats(self) -> str:
        """``--verbose``: what ``ollama run --verbose`` shows, from the server's durations
        where it reports them (Ollama's native API), else timed here."""
        from ._render import stats_lines

        ended = self._ended if self._ended is not None else time.monotonic()
        first = self._first - self._started if self._first is not None else None
        return stats_lines(self.usage, ended - self._started, first, ended - (self._first or ended))

    @property
    def answer(self) -> str:
        return "".join(self.text)


def _thought(item: object) -> bool:
    return isinstance(item, Reasoning) and bool(item.text)


async def stream_reply(items: AsyncResult, printer: Printer) -> None:
    try:
        async for item in items:
            printer(item)
    finally:
        await items.aclose()


def print_answer(printer: Printer, items: AsyncResult) -> None:
    """Stream one answer through ``printer``, a spinner first; Ctrl-C (KeyboardInterrupt)
    or an error ends the open lines and is raised again for the caller to handle."""
    printer.wait()
    try:
        run(stream_reply(items, printer))
    except KeyboardInterrupt:
        printer.abort(interrupted=True)
        raise
    except (ProviderError, ValueError):
        printer.abort()
        raise
    printer.close()


def one_shot_items(
    state: Settings,
    items: AsyncResult,
    *,
    json_lines: bool,
    show_reasoning: bool,
    verbose: bool,
    model: str = "",
) -> None:
    """Print one streamed answer; Ctrl-C ends it with exit code 130."""
    printer = Printer(
        state, json_lines=json_lines, show_reasoning=show_reasoning, verbose=verbose, model=model
    )
    try:
        print_answer(printer, items)
    except KeyboardInterrupt:
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


def one_shot(
    state: Settings,
    model: str,
    messages: list[dict[str, Any]],
    params: Mapping[str, Any],
    *,
    json_lines: bool,
    show_reasoning: bool,
    verbose: bool = False,
) -> None:
    items = Ollama.create_async_generator(model, messages, state.api_base, **state.call, **params)
    one_shot_items(
        state,
        items,
        json_lines=json_lines,
        show_reasoning=show_reasoning,
        verbose=verbose,
        model=model,
    )


def interactive(
    state: Settings,
    model: str,
    system: str | None,
    params: Mapping[str, Any],
    *,
    show_reasoning: bool,
    verbose: bool,
) -> None:
    from ._session import Session

    Session(state, model, system, params, show_reasoning=show_reasoning, verbose=verbose).loop()
