"""The verbs that run a model: chat (run), generate, embed.

Each takes the model as ``-m NAME`` or, as ``ollama run`` does, as the first word
when that word names an installed model (the library's rule, ``Ollama.find_model``)
or can only be a model reference (``name:tag``, ``user/name:tag``: then a missing
model is the error, not a prompt sent elsewhere). Without either, the server's first
model answers, and stderr says which.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import click

from .. import Ollama
from .._params import check_think
from ._common import Settings, read_stdin, run, settings

__all__ = ["COMMANDS", "pick_model", "prompt_text"]

F = TypeVar("F", bound=Callable[..., Any])
EMPTY_STDIN = "no prompt: stdin was empty (give PROMPT as an argument)"


class _ThinkCommand(click.Command):
    """Accepts ``--think=LEVEL`` beside the ``--think``/``--no-think`` flags: a flag with an
    optional value would swallow the prompt's first word (``--think why?``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                rewritten += args[i:]
                break
            if arg.startswith("--think="):
                rewritten += ["--think-level", arg.removeprefix("--think=")]
            else:
                rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


def _format(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """``--format json`` or a JSON schema file: ``"json"`` or the schema as a dict."""
    if value is None or value == "json":
        return value
    import json

    path = Path(value)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.BadParameter(
            f"{value!r} is neither 'json' nor a readable JSON schema file ({exc.strerror})"
        ) from None
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"{value} is not JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise click.BadParameter(f"{value} does not hold a JSON schema object")
    return schema


def _run_options(f: F) -> F:
    """The options chat and generate share."""
    options = [
        click.option(
            "-m", "--model", metavar="NAME", help="The model (default: the server's first)."
        ),
        click.option("--system", metavar="TEXT", help="A system message."),
        click.option("--temperature", type=click.FloatRange(min=0), help="Sampling temperature."),
        click.option(
            "--max-tokens", type=click.IntRange(min=1), help="Stop after this many tokens."
        ),
        click.option("--seed", type=int, help="Sampling seed, for repeatable answers."),
        click.option(
            "--num-ctx", type=click.IntRange(min=1), help="Context window, in tokens (Ollama)."
        ),
        click.option(
            "--format", "fmt", metavar="json|SCHEMA_FILE", callback=_format,
            help="Answer in JSON, or JSON matching the schema in a file.",
        ),
        click.option(
            "--think/--no-think", default=None,
            help="Let a thinking model think, or not; --think=low|medium|high sets how much.",
        ),
        click.option("--think-level", hidden=True, callback=_think_level),
        click.option(
            "--image", "images", multiple=True, metavar="FILE",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="An image for a vision model (repeatable).",
        ),
        click.option("--no-stream", is_flag=True, help="Ask for the whole answer at once."),
        click.option("--json", "json_lines", is_flag=True, help="Every event as one JSON line."),
        click.option(
            "--show-reasoning", is_flag=True, help="The model's thinking, dimmed, on stderr."
        ),
        click.option("--verbose", is_flag=True, help="Timing and token counts after each answer."),
        click.argument("prompt", nargs=-1),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


def _think_level(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--think=LEVEL``: a level the library accepts (its ``check_think``)."""
    try:
        check_think(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a level: use --think=low, medium or high (or --think, --no-think)",
            param_hint="'--think'",
        ) from None
    return value


def _think(think: bool | None, level: str | None) -> bool | str | None:
    return level if level is not None else think


async def pick_model(state: Settings, model: str | None, words: list[str]) -> tuple[str, bool]:
    """The model, and whether it is the server's first (so the user should be told).

    The first word is taken as the model (and removed) when it names an installed one,
    or when it looks like nothing but a model reference (``_MODEL_REFERENCE``: a tag
    after a colon), so that a missing ``llama3.2:1b`` is reported rather than sent as
    a prompt to the first model.
    """
    if model:
        return model, False
    if words:
        found = await Ollama.find_model(words[0], state.api_base, **state.call)
        if found is None and _MODEL_REFERENCE.fullmatch(words[0]):
            found = words[0]  # `run llama3.2:1b hi` meant a model: its absence is the error
        if found is not None:
            del words[0]
            return found, False
    return await Ollama.first_model(state.api_base, **state.call), True


#: A word only a model reference looks like: ``name:tag`` or ``user/name:tag`` (lower-case
#: name, a tag after the colon). ``hello`` or ``Summarise:`` stay words of the prompt.
_MODEL_REFERENCE = re.compile(
    r"(?:[a-z0-9][a-z0-9._-]*(?::\d+)?/)*[a-z0-9][a-z0-9._-]*:[A-Za-z0-9][A-Za-z0-9._-]*"
)


def announce(name: str) -> None:
    click.echo(f"using {name}, the server's first model (choose one with -m NAME)", err=True)


def piped_input() -> str | None:
    """stdin's text when it is not a terminal (``git diff | ...``); None on a terminal."""
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        return None
    return read_stdin()


def prompt_text(words: list[str], piped: str | None) -> str:
    """The prompt: piped text and the words together (piped first, as ``ollama run`` does)."""
    text = " ".join(words)
    if piped and piped.strip():
        return f"{piped.rstrip()}\n\n{text}" if text else piped
    return text


def _check_stdin(words: list[str], piped: str | None) -> None:
    """Usage errors found before any request."""
    if words:
        return
    if sys.stdin is None:
        raise click.UsageError("no prompt, and stdin is closed: give PROMPT as an argument")
    if piped is not None and not piped.strip():
        raise click.UsageError(EMPTY_STDIN)


class _Asked(NamedTuple):
    state: Settings
    model: str
    first: bool  # the server's first model: announce it
    text: str  # the prompt, "" when none was given
    piped: str | None  # stdin's text, None on a terminal


def _ask(model: str | None, prompt: tuple[str, ...]) -> _Asked:
    """What chat and generate both need first: stdin read and checked, the model chosen
    (perhaps the prompt's first word), and the prompt's text."""
    state = settings()
    words = list(prompt)
    piped = piped_input()
    _check_stdin(words, piped)
    name, first = run(pick_model(state, model, words))
    return _Asked(state, name, first, prompt_text(words, piped), piped)


def _common_params(
    temperature: float | None, max_tokens: int | None, seed: int | None, think: bool | str | None
) -> dict[str, Any]:
    params = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed, "think": think}
    return {k: v for k, v in params.items() if v is not None}


@click.command(cls=_ThinkCommand)
@_run_options
def chat(
    model: str | None, system: str | None, temperature: float | None, max_tokens: int | None,
    seed: int | None, num_ctx: int | None, fmt: Any, think: bool | None, think_level: str | None,
    images: tuple[Path, ...], no_stream: bool, json_lines: bool, show_reasoning: bool,
    verbose: bool, prompt: tuple[str, ...],
) -> None:  # fmt: skip
    """Answer PROMPT and/or piped text; with neither, a chat session.

    \b
    ollama-provider chat llama3.2 'Why is the sky blue?'
    git diff | ollama-provider run llama3.2 'Write a commit message'
    ollama-provider chat llama3.2                  an interactive session
    """
    from ._chat import interactive, one_shot

    state, name, first, text, piped = _ask(model, prompt)
    params: dict[str, Any] = {"stream": not no_stream}
    params.update(_common_params(temperature, max_tokens, seed, _think(think, think_level)))
    if fmt is not None:
        params["response_format"] = (
            {"type": "json_object"} if fmt == "json"
            else {"type": "json_schema", "json_schema": {"name": "schema", "schema": fmt}}
        )  # fmt: skip
    if num_ctx is not None:
        params["options"] = {"num_ctx": num_ctx}
    if not text:
        if piped is not None:
            raise click.UsageError(EMPTY_STDIN)
        if json_lines:
            raise click.UsageError("--json needs a prompt (an argument or stdin)")
        interactive(state, name, system, params, show_reasoning=show_reasoning, verbose=verbose)
        return
    if first:
        announce(name)
    message: dict[str, Any] = {"role": "user", "content": text}
    if images:
        message["images"] = list(images)
    messages = [{"role": "system", "content": system}] if system else []
    messages.append(message)
    one_shot(
        state, name, messages, params, json_lines=json_lines, show_reasoning=show_reasoning,
        verbose=verbose,
    )  # fmt: skip


@click.command(cls=_ThinkCommand)
@_run_options
@click.option("--raw", is_flag=True, help="Send PROMPT as it is, without the model's template.")
@click.option("--suffix", metavar="TEXT", help="Text after the completion (fill in the middle).")
def generate(
    model: str | None, system: str | None, temperature: float | None, max_tokens: int | None,
    seed: int | None, num_ctx: int | None, fmt: Any, think: bool | None, think_level: str | None,
    images: tuple[Path, ...], no_stream: bool, json_lines: bool, show_reasoning: bool,
    verbose: bool, prompt: tuple[str, ...], raw: bool, suffix: str | None,
) -> None:  # fmt: skip
    """Complete PROMPT (Ollama's /api/generate): no conversation, no session."""
    from ._chat import one_shot_items

    state, name, first, text, _ = _ask(model, prompt)
    if not text:
        raise click.UsageError("no prompt: give PROMPT as an argument or on stdin")
    if first:
        announce(name)
    params = _common_params(temperature, max_tokens, seed, _think(think, think_level))
    items = Ollama.generate(
        name, text, system=system, images=list(images) or None, raw=raw, suffix=suffix,
        format=fmt, options={"num_ctx": num_ctx} if num_ctx else None, stream=not no_stream,
        api_base=state.api_base, **state.call, **params,
    )  # fmt: skip
    one_shot_items(
        state, items, json_lines=json_lines, show_reasoning=show_reasoning, verbose=verbose,
        model=name,
    )  # fmt: skip


@click.command()
@click.option("-m", "--model", metavar="NAME", help="An embedding model (e.g. all-minilm).")
@click.option("--dimensions", type=click.IntRange(min=1), help="Shorten the vectors.")
@click.argument("texts", nargs=-1, metavar="[TEXT]...")
def embed(model: str | None, dimensions: int | None, texts: tuple[str, ...]) -> None:
    """One JSON vector per TEXT, or per line of stdin.

    \b
    ollama-provider embed all-minilm 'first text' 'second text'
    cat lines.txt | ollama-provider embed -m all-minilm > vectors.jsonl
    """
    import json

    state = settings()
    words = list(texts)
    name, first = run(pick_model(state, model, words))  # takes a leading model name off words
    # stdin is read only now: `echo hi | ollama-provider embed all-minilm` names a model
    piped = piped_input() if not words else None
    inputs = words if words else [line for line in (piped or "").splitlines() if line.strip()]
    if not inputs:
        raise click.UsageError("nothing to embed: give TEXT arguments or lines on stdin")
    if first:
        announce(name)
    result = run(
        Ollama.embed(name, inputs, dimensions=dimensions, api_base=state.api_base, **state.call)
    )
    out = "".join(json.dumps(vector) + "\n" for vector in result.embeddings)
    sys.stdout.write(out)
    sys.stdout.flush()


COMMANDS = (chat, generate, embed)
