"""The click group, its global options, the verbs, and the one place errors become exit codes.

Only click and the library's light top level load here: rich, prompt_toolkit and
aiohttp are imported inside the verbs that use them, so ``--help`` stays instant.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from .. import InvalidHostError, Ollama, ProviderError, __version__
from ._common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Settings,
    error_text,
    read_stdin,
    run,
    settings,
)

__all__ = ["cli"]


class _Group(click.Group):
    """Turns the library's errors into one line on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidHostError as exc:  # --host or OLLAMA_HOST: bad usage
            self._fail(ctx, exc, EXIT_USAGE)
        except ProviderError as exc:
            self._fail(ctx, exc, EXIT_ERROR)
        except ValueError as exc:  # the library's argument checks (e.g. a model name)
            self._fail(ctx, exc, EXIT_USAGE)
        except KeyboardInterrupt:
            state = ctx.ensure_object(Settings)
            stream = sys.stdout if state.stdout_partial else sys.stderr
            stream.write("\n")
            stream.flush()
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None

    @staticmethod
    def _fail(ctx: click.Context, exc: Exception, code: int) -> None:
        state = ctx.ensure_object(Settings)
        if state.debug:
            import traceback

            traceback.print_exc()
        click.echo(f"error: {error_text(exc, state)}", err=True)
        raise click.exceptions.Exit(code) from None


def _format(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """``--format json`` or a JSON schema file, as an OpenAI ``response_format``."""
    if value is None:
        return None
    if value == "json":
        return {"type": "json_object"}
    import json
    from pathlib import Path

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
    return {"type": "json_schema", "json_schema": {"name": "schema", "schema": schema}}


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--host",
    metavar="URL",
    help="The Ollama server, like OLLAMA_HOST (default: OLLAMA_HOST, OLLAMA_PORT, "
    "else 127.0.0.1:11434).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Give up when the server is silent this long.",
)
@click.option("--debug", is_flag=True, help="Tracebacks and the library's debug log on stderr.")
@click.version_option(
    __version__, "--version", prog_name="ollama-provider", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(ctx: click.Context, host: str | None, timeout: float | None, debug: bool) -> None:
    """Chat with the models of an Ollama server, and manage them.

    \b
    ollama-provider models                  installed models
    ollama-provider chat -m llama3.2 'Hi'   stream an answer (no prompt: a session)
    ollama-provider doctor                  is the server reachable, and if not, why
    """
    state = ctx.ensure_object(Settings)
    state.host, state.timeout, state.debug = host, timeout, debug
    if debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
        logger = logging.getLogger("ollama_provider")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def models(as_json: bool) -> None:
    """List the installed models."""
    from ._render import models_table, print_json, show

    state = settings()
    found = run(Ollama.list_models(state.api_base, timeout=state.timeout))
    if as_json:
        print_json(found)
    elif found:
        show(models_table(found))
    else:
        click.echo("no models installed: pull one with `ollama-provider pull llama3.2`", err=True)


@cli.command()
@click.option("-m", "--model", metavar="NAME", help="The model (default: the server's first).")
@click.option("--system", metavar="TEXT", help="A system message.")
@click.option("--temperature", type=click.FloatRange(min=0), help="Sampling temperature.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Stop after this many tokens.")
@click.option("--seed", type=int, help="Sampling seed, for repeatable answers.")
@click.option(
    "--format",
    "response_format",
    metavar="json|SCHEMA_FILE",
    callback=_format,
    help="Answer in JSON, or JSON matching the schema in a file.",
)
@click.option("--no-stream", is_flag=True, help="Ask for the whole answer at once.")
@click.option("--json", "json_lines", is_flag=True, help="Every event as one JSON line.")
@click.option("--show-reasoning", is_flag=True, help="The model's thinking, dimmed, on stderr.")
@click.argument("prompt", nargs=-1)
def chat(
    model: str | None,
    system: str | None,
    temperature: float | None,
    max_tokens: int | None,
    seed: int | None,
    response_format: dict[str, Any] | None,
    no_stream: bool,
    json_lines: bool,
    show_reasoning: bool,
    prompt: tuple[str, ...],
) -> None:
    """Stream an answer to PROMPT (or to stdin); with neither, an interactive session."""
    from ._chat import interactive, one_shot

    state = settings()
    params: dict[str, Any] = {"stream": not no_stream}
    for key, value in (
        ("temperature", temperature),
        ("max_tokens", max_tokens),
        ("seed", seed),
        ("response_format", response_format),
    ):
        if value is not None:
            params[key] = value
    text = " ".join(prompt)
    if not text and sys.stdin is None:
        raise click.UsageError("no prompt, and stdin is closed: give PROMPT as an argument")
    if not text and not sys.stdin.isatty():
        text = read_stdin()
        if not text.strip():
            raise click.UsageError("no prompt: stdin was empty (give PROMPT as an argument)")
    if not text:
        if json_lines:
            raise click.UsageError("--json needs a prompt (an argument or stdin)")
        interactive(state, model, system, params, show_reasoning=show_reasoning)
        return
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": text})
    one_shot(state, model, messages, params, json_lines=json_lines, show_reasoning=show_reasoning)


@cli.command()
@click.argument("model")
def pull(model: str) -> None:
    """Download MODEL from the registry, a progress bar per layer."""
    from ._render import PullView

    state = settings()

    async def go() -> str:
        with PullView() as view:
            async for line in Ollama.pull(model, state.api_base, timeout=state.timeout):
                view.update(line)
        return view.status

    click.echo(run(go()))


@cli.command()
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Print everything Ollama said, as JSON.")
def show(model: str, as_json: bool) -> None:
    """Details, parameters, context length and capabilities of MODEL."""
    from . import _render

    state = settings()
    result = run(Ollama.show(model, state.api_base, timeout=state.timeout))
    if as_json:
        _render.print_json(result)
    else:
        _render.show(_render.show_sections(result))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def ps(as_json: bool) -> None:
    """The models loaded in memory, and when they unload."""
    from ._render import print_json, ps_table, show

    state = settings()
    found = run(Ollama.ps(state.api_base, timeout=state.timeout))
    if as_json:
        print_json(found)
    elif found:
        show(ps_table(found))
    else:
        click.echo("no model is loaded", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print both versions as JSON.")
def version(as_json: bool) -> None:
    """The server's version and this library's."""
    state = settings()
    root = state.api_base.root
    try:
        server = run(Ollama.version(state.api_base, timeout=state.timeout))
    except ProviderError:
        if not as_json:
            click.echo(f"ollama-provider {__version__}")
        raise
    if as_json:
        import json

        click.echo(json.dumps({"server": server, "library": __version__, "url": root}))
        return
    click.echo(f"Ollama {server} at {root}")
    click.echo(f"ollama-provider {__version__}")


@cli.command()
def doctor() -> None:
    """Check the server address, reachability, version and models; advise on each problem."""
    from ._doctor import doctor as diagnose

    code = diagnose(settings())
    if code:
        raise click.exceptions.Exit(code)
