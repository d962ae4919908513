"""The click group: global options, the verbs and their ``ollama`` synonyms, a suggestion for
an unknown verb, and the one place errors become exit codes.

Only click and the library's light top level load here: rich, prompt_toolkit and
aiohttp are imported inside the verbs that use them, so ``--help`` stays instant.
"""

from __future__ import annotations

import difflib
import sys
from typing import Any

import click

from .. import InvalidHostError, ProviderError, __version__
from . import _cmd_chat, _cmd_manage
from ._common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Settings,
    error_details,
    error_text,
    global_options,
)

__all__ = ["ALIASES", "cli"]

#: ``ollama``'s words for the same verbs
ALIASES = {"list": "models", "ls": "models", "run": "chat", "delete": "rm", "unload": "stop"}


class _Group(click.Group):
    """Verbs by name or synonym; the library's errors as one line on stderr and an exit code."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            known = [*self.list_commands(ctx), *ALIASES]
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" Did you mean `{near[0]}`?" if near else ""  # the word they nearly typed
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            synonyms = [a for a, target in ALIASES.items() if target == name]
            label = f"{name} ({', '.join(synonyms)})" if synonyms else name
            rows.append((label, command.get_short_help_str(limit=70)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

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
            for line in error_details(exc):
                click.echo(f"  {line}", err=True)
        click.echo(f"error: {error_text(exc)}", err=True)
        raise click.exceptions.Exit(code) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@global_options(hidden=False)
@click.version_option(
    __version__, "--version", prog_name="ollama-provider", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Chat with the models of an Ollama server, and manage them.

    \b
    ollama-provider ls                      installed models
    ollama-provider run llama3.2 'Hi'       stream an answer (no prompt: a session)
    git diff | ollama-provider run llama3.2 'Write a commit message'
    ollama-provider doctor                  is the server reachable, and if not, why

    The global options also work after the verb.
    """
    ctx.ensure_object(Settings)


for _command in (*_cmd_chat.COMMANDS, *_cmd_manage.COMMANDS):
    cli.add_command(global_options(hidden=True)(_command))
