"""The interactive session: a conversation kept across turns, with ``ollama run``'s habits.

Slash commands change the model (checked against the server), the sampling
settings, the system message and thinking; ``\"\"\"`` opens a multi-line message;
``/load FILE``, or an image path typed in the prompt, attaches an image.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import Ollama, ProviderError
from .._params import check_think
from ._chat import Printer, print_answer
from ._common import Settings, error_text, run

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import History

__all__ = ["HELP", "Session", "history_path"]

HELP = """\
/model NAME   switch to another model (the conversation is kept)
/model        show the current model and the installed ones
/show         the current model's details and this session's settings
/set          temperature, num_ctx, seed, max_tokens N; system TEXT;
              think [low|medium|high], nothink; verbose, quiet
/load FILE    attach an image to the next message (a path in a message works too)
/clear        forget the conversation
/help         this help
/exit         leave (also /bye, /quit, Ctrl-D)
\"\"\" starts a multi-line message, \"\"\" ends it.
Ctrl-C stops an answer; Ctrl-D on an empty line leaves."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
_NUMBERS: dict[str, type] = {
    "temperature": float,
    "top_p": float,
    "num_ctx": int,
    "seed": int,
    "max_tokens": int,
}
_OPTIONS = ("num_ctx",)  # Ollama-only: sent as options, which routes to the native API


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


def _words(text: str) -> list[str]:
    """The words of a line as a shell splits them (quotes and backslashes undone); with an
    unclosed quote, split at blanks."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def image_paths(text: str) -> list[Path]:
    """Words of a message that name image files on this machine (quotes allowed)."""
    found = []
    for word in _words(text):
        path = Path(word).expanduser()
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            found.append(path)
    return found


class Session:
    """A conversation kept across turns, with slash commands."""

    def __init__(
        self,
        state: Settings,
        model: str,
        system: str | None,
        params: Mapping[str, Any],
        *,
        show_reasoning: bool,
        verbose: bool,
    ) -> None:
        self.state = state
        self.model = model
        self.system = system
        self.params = dict(params)
        self.show_reasoning = show_reasoning
        self.verbose = verbose
        self.images: list[Path] = []
        self.messages: list[dict[str, Any]] = []
        self.clear()

    def clear(self) -> None:
        self.messages = [{"role": "system", "content": self.system}] if self.system else []

    def say(self, text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def error(self, exc: BaseException) -> None:
        sys.stderr.write(f"error: {error_text(exc)}\n")
        sys.stderr.flush()

    # -- slash commands ----------------------------------------------------------------

    def command(self, line: str) -> bool:
        """Run a slash command; False means leave."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/exit", "/quit", "/bye"):
            return False
        if name in ("/help", "/?"):
            self.say(HELP)
        elif name == "/clear":
            self.clear()
            self.say("conversation cleared")
        elif name == "/model" and arg:
            self._switch(arg)
        elif name == "/model":
            self._list_models()
        elif name == "/set":
            self._set(arg)
        elif name == "/show":
            self._show()
        elif name == "/load" and arg:
            self._load(arg)
        else:
            self.say(f"unknown command {name}: /help lists the commands")
        return True

    def _switch(self, name: str) -> None:
        try:
            found = run(Ollama.find_model(name, self.state.api_base, **self.state.call))
            if found is None:  # the library's own error, with the installed models
                run(Ollama.show(name, self.state.api_base, **self.state.call))
                found = name
        except (ProviderError, ValueError) as exc:
            self.error(exc)
            return
        self.model = found
        self.say(f"model: {found}")

    def _list_models(self) -> None:
        self.say(f"model: {self.model}")
        try:
            names = run(
                Ollama.get_models_async(self.state.api_base, refresh=True, **self.state.call)
            )
        except ProviderError as exc:
            self.error(exc)
            return
        self.say("installed: " + (", ".join(names) if names else "none"))

    def _set(self, arg: str) -> None:
        key, _, value = arg.partition(" ")
        if key == "parameter":
            key, _, value = value.strip().partition(" ")
        value = value.strip()
        if not key:
            self.say(self._settings())
        elif key in ("verbose", "quiet"):
            self.verbose = key == "verbose"
            self.say(f"verbose: {'on' if self.verbose else 'off'}")
        elif key == "system":
            self.system = value or None
            self.messages = [m for m in self.messages if m.get("role") != "system"]
            if self.system:
                self.messages.insert(0, {"role": "system", "content": self.system})
            self.say(f"system: {value}" if value else "system message removed")
        elif key in ("think", "nothink"):
            self._think("off" if key == "nothink" else value or "on")
        elif key in _NUMBERS and value:
            try:
                number = _NUMBERS[key](value)
            except ValueError:
                self.say(f"{key} needs a number, not {value!r}")
                return
            if key in _OPTIONS:
                self.params["options"] = {**self.params.get("options", {}), key: number}
            else:
                self.params[key] = number
            self.say(f"{key}: {number}")
        else:
            self.say(
                "usage: /set temperature|num_ctx|seed|max_tokens|top_p N, /set system TEXT, "
                "/set think [low|medium|high], /set nothink, /set verbose|quiet"
            )

    def _think(self, value: str) -> None:
        """``on``, ``off`` or a level the library accepts (its ``check_think``)."""
        think: bool | str = {"on": True, "off": False}.get(value, value)
        try:
            check_think(think)
        except ValueError:
            self.say("usage: /set think [low|medium|high], or /set nothink")
            return
        self.params["think"] = think
        self.say(f"think: {value}")

    def _settings(self) -> str:
        shown = {k: v for k, v in self.params.items() if k not in ("stream", "options")}
        shown.update(self.params.get("options", {}))
        rows = [f"model: {self.model}", f"system: {self.system or '(none)'}"]
        rows += [f"{k}: {v}" for k, v in shown.items()]
        rows.append(f"verbose: {'on' if self.verbose else 'off'}")
        return "\n".join(rows)

    def _show(self) -> None:
        from ._render import show, show_sections

        try:
            result = run(Ollama.show(self.model, self.state.api_base, **self.state.call))
        except ProviderError as exc:
            self.error(exc)
        else:
            show(show_sections(result))
        self.say(self._settings())

    def _load(self, arg: str) -> None:
        words = _words(arg)  # a quoted path as in a message; unquoted blanks stay in the name
        path = Path(words[0] if len(words) == 1 else arg).expanduser()
        if not path.is_file():
            self.say(f"no such file: {path}")
            return
        self.images.append(path)
        self.say(f"attached {path.name}: it goes with your next message")

    # -- a turn ------------------------------------------------------------------------

    def turn(self, text: str) -> None:
        message: dict[str, Any] = {"role": "user", "content": text}
        images = [*self.images, *image_paths(text)]
        if images:
            message["images"] = images
        self.messages.append(message)
        printer = Printer(
            self.state,
            json_lines=False,
            show_reasoning=self.show_reasoning,
            verbose=self.verbose,
            model=self.model,
        )
        items = Ollama.create_async_generator(
            self.model, self.messages, self.state.api_base, **self.state.call, **self.params
        )
        try:
            print_answer(printer, items)
        except KeyboardInterrupt:
            self.messages.pop()
            self.say("(stopped; this exchange is not kept)")
            return
        except (ProviderError, ValueError) as exc:
            self.messages.pop()
            self.error(exc)
            return
        self.images = []
        self.messages.append({"role": "assistant", "content": printer.answer})

    # -- the loop ----------------------------------------------------------------------

    def loop(self) -> None:
        from prompt_toolkit import PromptSession

        prompt: PromptSession[str] = PromptSession(history=_history())
        root = ", ".join(a.root for a in self.state.servers)
        self.say(
            f"chatting with {self.model} at {root}; /help for commands, /exit or Ctrl-D to leave"
        )
        while True:
            try:
                line = prompt.prompt(">>> ")
                text = line.strip()
                if text.startswith('"""'):
                    line = _multi_line(prompt, text[3:])
                    text = line.strip()
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if not text:
                continue
            if text.startswith("/") and "\n" not in text:
                if not self.command(text):
                    break
                continue
            self.turn(line)


def _multi_line(prompt: PromptSession[str], first: str) -> str:
    """The lines up to the closing \"\"\" (Ctrl-C abandons the message)."""
    if first.endswith('"""'):
        return first[:-3]
    lines = [first] if first else []
    while True:
        line = prompt.prompt("... ")
        if line.rstrip().endswith('"""'):
            lines.append(line.rstrip()[:-3])
            return "\n".join(lines).strip("\n")
        lines.append(line)
