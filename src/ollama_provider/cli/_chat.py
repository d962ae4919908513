"""``chat``: one answer streamed to stdout, or an interactive session on a terminal.

The stream runs with ``asyncio.run`` in the main thread, so Ctrl-C cancels the
task and the library closes the connection (the server stops generating).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import FinishReason, Ollama, ProviderError, Reasoning, ToolCalls, Usage
from ._common import EXIT_INTERRUPTED, Settings, error_text, run, write_out

if TYPE_CHECKING:
    from prompt_toolkit.history import History
    from rich.console import Console

__all__ = ["HELP", "Printer", "default_model", "history_path", "interactive", "one_shot"]

HELP = """\
/model NAME   switch to another model (the conversation is kept)
/model        show the current model and the installed ones
/clear        forget the conversation
/help         this help
/exit         leave (also /bye, /quit, Ctrl-D)
Ctrl-C stops an answer; Ctrl-D on an empty line leaves."""


class Printer:
    """Writes stream items as they come: text to stdout; reasoning (dimmed) to stderr
    when asked; or, with ``json_lines``, every item as one JSON object per line."""

    def __init__(self, state: Settings, *, json_lines: bool, show_reasoning: bool) -> None:
        self.state = state
        self.json_lines = json_lines
        self.show_reasoning = show_reasoning
        self.text: list[str] = []
        self.finish_reason = ""
        self._err: Console | None = None
        self._reasoning_open = False

    def __call__(self, item: object) -> None:
        if self.json_lines:
            self._json(item)
        elif isinstance(item, str):
            self._close_reasoning()
            self.text.append(item)
            write_out(self.state, item)
        elif isinstance(item, Reasoning):
            if self.show_reasoning and item.text:
                self._reasoning(item.text)
        elif isinstance(item, ToolCalls):
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

    def _reasoning(self, text: str) -> None:
        if self._err is None:
            from ._render import stderr_console

            self._err = stderr_console()
        self._err.out(text, style="dim", end="", highlight=False)
        sys.stderr.flush()
        self._reasoning_open = not text.endswith("\n")

    def _close_reasoning(self) -> None:
        if self._reasoning_open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._reasoning_open = False

    def abort(self, *, interrupted: bool = False) -> None:
        """End open lines before an error line, or after Ctrl-C (whose ^C echo needs one)."""
        was_open = self._reasoning_open
        self._close_reasoning()
        if self.state.stdout_partial:
            write_out(self.state, "\n")
        elif interrupted and not was_open:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def close(self) -> None:
        """End open lines; say so on stderr when the answer was cut by the token limit."""
        self._close_reasoning()
        if self.state.stdout_partial:
            write_out(self.state, "\n")
        if self.finish_reason == "length" and not self.json_lines:
            sys.stderr.write("note: the answer stopped at the token limit (--max-tokens)\n")
            sys.stderr.flush()

    @property
    def answer(self) -> str:
        return "".join(self.text)


async def stream_reply(
    state: Settings,
    model: str,
    messages: list[dict[str, Any]],
    params: Mapping[str, Any],
    printer: Callable[[object], None],
) -> None:
    items = Ollama.create_async_generator(
        model, messages, state.api_base, timeout=state.timeout, **params
    )
    try:
        async for item in items:
            printer(item)
    finally:
        await items.aclose()


async def default_model(state: Settings) -> str:
    """The server's first model (the library's rule); none installed raises its error."""
    return await Ollama.first_model(state.api_base, timeout=state.timeout)


def one_shot(
    state: Settings,
    model: str | None,
    messages: list[dict[str, Any]],
    params: Mapping[str, Any],
    *,
    json_lines: bool,
    show_reasoning: bool,
) -> None:
    printer = Printer(state, json_lines=json_lines, show_reasoning=show_reasoning)

    async def go() -> None:
        name = model or await default_model(state)
        await stream_reply(state, name, messages, params, printer)

    try:
        run(go())
    except KeyboardInterrupt:
        printer.abort(interrupted=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    except ProviderError:
        printer.abort()
        raise
    printer.close()


# -- the interactive session ---------------------------------------------------------


def history_path() -> Path:
    state_home = os.environ.get("XDG_STATE_HOME", "").strip()
    base = Path(state_home) if state_home else Path.home() / ".local" / "state"
    return base / "ollama-provider" / "history"


def _history() -> History:
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Prompts can be private: a new history file is readable by its owner only.
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))


class Session:
    """A conversation kept across turns, with slash commands."""

    def __init__(
        self,
        state: Settings,
        model: str,
        system: str | None,
        params: Mapping[str, Any],
        show_reasoning: bool,
    ) -> None:
        self.state = state
        self.model = model
        self.system = system
        self.params = params
        self.show_reasoning = show_reasoning
        self.messages: list[dict[str, Any]] = []
        self.clear()

    def clear(self) -> None:
        self.messages = [{"role": "system", "content": self.system}] if self.system else []

    def say(self, text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def command(self, line: str) -> bool:
        """Run a slash command; False means leave."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/exit", "/quit", "/bye"):
            return False
        if name == "/help":
            self.say(HELP)
        elif name == "/clear":
            self.clear()
            self.say("conversation cleared")
        elif name == "/model" and arg:
            self.model = arg
            self.say(f"model: {arg}")
        elif name == "/model":
            self._list_models()
        else:
            self.say(f"unknown command {name}: /help lists the commands")
        return True

    def _list_models(self) -> None:
        self.say(f"model: {self.model}")
        try:
            names = run(Ollama.get_models_async(self.state.api_base, refresh=True))
        except ProviderError as exc:
            self.error(exc)
            return
        self.say("installed: " + (", ".join(names) if names else "none"))

    def error(self, exc: BaseException) -> None:
        sys.stderr.write(f"error: {error_text(exc, self.state)}\n")
        sys.stderr.flush()

    def turn(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text})
        printer = Printer(self.state, json_lines=False, show_reasoning=self.show_reasoning)
        try:
            run(stream_reply(self.state, self.model, self.messages, self.params, printer))
        except KeyboardInterrupt:
            printer.abort(interrupted=True)
            self.messages.pop()
            self.say("(stopped; this exchange is not kept)")
            return
        except ProviderError as exc:
            printer.abort()
            self.messages.pop()
            self.error(exc)
            return
        printer.close()
        self.messages.append({"role": "assistant", "content": printer.answer})


def interactive(
    state: Settings,
    model: str | None,
    system: str | None,
    params: Mapping[str, Any],
    *,
    show_reasoning: bool,
) -> None:
    from prompt_toolkit import PromptSession

    name = model or run(default_model(state))
    session = Session(state, name, system, params, show_reasoning)
    prompt: PromptSession[str] = PromptSession(history=_history())
    root = state.api_base.root
    session.say(f"chatting with {name} at {root}; /help for commands, /exit or Ctrl-D to leave")
    while True:
        try:
            line = prompt.prompt(">>> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        text = line.strip()
        if not text:
            continue
        if text.startswith("/"):
            if not session.command(text):
                break
            continue
        session.turn(line)
