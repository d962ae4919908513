"""The verbs that manage models: models (list, ls), show, ps, pull, push, create, rm, cp,
stop, version, doctor. Each is a thin layer over the library: one call, or one per MODEL
for rm and stop, several for doctor; what they print is in ``_render``.

Data goes to stdout (tables, ``--json``); progress and confirmations to stderr.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import Ollama, Progress, ProviderError, __version__
from .._wording import CLI
from ._common import run, settings

__all__ = ["COMMANDS"]

F = TypeVar("F", bound=Callable[..., Any])


def _json_flag(what: str) -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON.")


def _note(text: str) -> None:
    click.echo(text, err=True)


@click.command()
@_json_flag("the list")
def models(as_json: bool) -> None:
    """List the installed models."""
    from ._render import models_table, print_json, show

    state = settings()
    found = run(Ollama.list_models(state.api_base, **state.call))
    if as_json:
        print_json(found)
    elif found:
        show(models_table(found, servers=len(state.servers) > 1))
    else:
        _note(f"no models installed: pull one with `{CLI.pull.format(name='llama3.2')}`")


@click.command("show")
@click.argument("model")
@_json_flag("everything Ollama said")
def show_model(model: str, as_json: bool) -> None:
    """MODEL's details, parameters, context length, capabilities."""
    from . import _render

    state = settings()
    result = run(Ollama.show(model, state.api_base, **state.call))
    if as_json:
        _render.print_json(result)
    else:
        _render.show(_render.show_sections(result))


@click.command()
@_json_flag("the list")
def ps(as_json: bool) -> None:
    """The models loaded in memory, and when they unload."""
    from ._render import print_json, ps_table, show

    state = settings()
    found = run(Ollama.ps(state.api_base, **state.call))
    if as_json:
        print_json(found)
    elif found:
        show(ps_table(found, servers=len(state.servers) > 1))
    else:
        _note("no model is loaded")


def _progress(lines: AsyncIterator[Progress]) -> None:
    """Draw progress lines on stderr; the last status ("success") goes to stdout."""
    from ._render import ProgressView

    async def go() -> str:
        with ProgressView() as view:
            async for line in lines:
                view.update(line)
        return view.status

    click.echo(run(go()))


@click.command()
@click.argument("model")
@click.option("--insecure", is_flag=True, help="Allow a registry without TLS.")
def pull(model: str, insecure: bool) -> None:
    """Download MODEL from the registry, a progress bar per layer."""
    state = settings()
    _progress(Ollama.pull(model, state.api_base, insecure=insecure, **state.call))


@click.command()
@click.argument("model")
@click.option("--insecure", is_flag=True, help="Allow a registry without TLS.")
def push(model: str, insecure: bool) -> None:
    """Upload MODEL (named user/model) to its registry."""
    state = settings()
    _progress(Ollama.push(model, state.api_base, insecure=insecure, **state.call))


@click.command()
@click.argument("model")
@click.option(
    "-f",
    "--file",
    "modelfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The Modelfile (default: ./Modelfile, when there is one).",
)
@click.option(
    "--from",
    "source",
    metavar="MODEL|PATH",
    help="Start from an installed model, or a local GGUF file or safetensors folder.",
)
@click.option("--system", metavar="TEXT", help="A system message for the new model.")
@click.option("-q", "--quantize", metavar="TYPE", help="Quantize to TYPE (e.g. q4_K_M).")
def create(
    model: str, modelfile: Path | None, source: str | None, system: str | None, quantize: str | None
) -> None:
    """Create MODEL from a Modelfile, another model or a local GGUF file.

    \b
    ollama-provider create mine -f Modelfile
    ollama-provider create smol --from ./SmolLM2-135M.gguf
    ollama-provider create terse --from llama3.2 --system 'Answer in one line.'
    """
    if modelfile is None and source is None:
        default = Path("Modelfile")
        if not default.is_file():
            raise click.UsageError(
                "create needs a Modelfile (-f FILE, or ./Modelfile) or --from MODEL|PATH"
            )
        modelfile = default
    state = settings()
    _progress(
        Ollama.create(
            model, state.api_base, modelfile=modelfile, from_=source, system=system,
            quantize=quantize, **state.call,
        )
    )  # fmt: skip


@click.command()
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
def rm(models: tuple[str, ...]) -> None:
    """Remove MODEL(s) from the server's disk."""
    state = settings()
    for name in models:
        run(Ollama.delete(name, state.api_base, **state.call))
        _note(f"deleted {name}")


@click.command()
@click.argument("source")
@click.argument("destination")
def cp(source: str, destination: str) -> None:
    """Copy SOURCE to a new name, DESTINATION."""
    state = settings()
    run(Ollama.copy(source, destination, state.api_base, **state.call))
    _note(f"copied {source} to {destination}")


@click.command()
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
def stop(models: tuple[str, ...]) -> None:
    """Unload MODEL(s) from memory now (they stay installed)."""
    state = settings()
    for name in models:
        run(Ollama.unload(name, state.api_base, **state.call))
        _note(f"stopped {name}")


@click.command()
@_json_flag("both versions")
def version(as_json: bool) -> None:
    """The server's version and this library's."""
    state = settings()
    try:
        found = run(Ollama.versions(state.api_base, **state.call))
    except ProviderError:
        if not as_json:
            click.echo(f"ollama-provider {__version__}")
        raise
    if as_json:
        import json

        if len(found) == 1:
            answer: Any = {
                "server": found[0].version,
                "library": __version__,
                "url": found[0].server,
            }
        else:
            servers = [{"server": v.version, "url": v.server} for v in found]
            answer = {"servers": servers, "library": __version__}
        click.echo(json.dumps(answer))
        return
    for one in found:
        click.echo(f"Ollama {one.version} at {one.server}")
    click.echo(f"ollama-provider {__version__}")


@click.command()
def doctor() -> None:
    """Check the server, its address and models; advise on each problem."""
    from ._doctor import doctor as diagnose

    code = diagnose(settings())
    if code:
        raise click.exceptions.Exit(code)


COMMANDS = (models, show_model, ps, pull, push, create, rm, cp, stop, version, doctor)
