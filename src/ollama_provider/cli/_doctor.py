"""``doctor``: where the server is, how that was derived, and what to do about each problem.

Every fact comes from the library, computed as a real request computes it (the
address and its notes, the proxy and the variable that set it); every problem
is a library error, shown with the library's own words for a command-line user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape

from .. import InvalidHostError, Ollama, ProviderError, ResponseStatusError, ServerAddress
from .._wording import CLI, describe, note_text, source_text
from ..providers.openai_api import ConnectionInfo
from ._common import EXIT_ERROR, EXIT_USAGE, Settings, run
from ._render import stdout_console

__all__ = ["Report", "diagnose", "doctor"]

NOT_OLLAMA = (
    "the server has no /api/version, so it is not Ollama (an OpenAI-compatible server such "
    "as llama.cpp or vLLM?): `chat` and `models` work with it; the other verbs need Ollama"
)
LABEL_WIDTH = len("reachable") + 2
#: doctor must not hang on a silent server: without --timeout it waits this long
DEFAULT_TIMEOUT = 10.0


@dataclass
class Report:
    rows: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    #: the address itself is unusable: bad usage (exit 2), as for every other verb
    bad_address: bool = False

    def row(self, key: str, value: str) -> None:
        self.rows.append((key, value))

    def problem(self, error: ProviderError, fix: str | None = None) -> None:
        words = describe(error, CLI)
        self.problems.append((words.message, fix if fix is not None else words.advice))


async def diagnose(state: Settings) -> Report:
    """Every server the command would use (several: one block of rows each)."""
    report = Report()
    try:
        infos = Ollama.connections_info(state.api_base)
    except InvalidHostError as exc:
        report.row("server", "invalid address")
        report.problem(exc)
        report.bad_address = True
        return report
    for i, info in enumerate(infos):
        if i:
            report.row("", "")
        await _server(state, info, report)
    return report


async def _server(state: Settings, info: ConnectionInfo, report: Report) -> None:
    address = info.address
    report.row("server", address.root)
    report.row("from", source_text(address))
    for note in address.notes:
        report.row("", note_text(note))
    if info.proxy is not None:
        proxy, host = info.proxy, address.host
        origin = f" (from {proxy.variable})" if proxy.variable else ""
        report.row("proxy", f"{proxy.shown}{origin}")
        if not proxy.usable:
            report.warnings.append(
                (
                    f"{proxy.variable} names a proxy this tool cannot use ({proxy.shown}): "
                    "requests go to the server directly",
                    "use an http:// proxy, or unset the variable",
                )
            )
        else:
            report.warnings.append(
                (
                    f"{proxy.variable} is set, so requests to {host} go through the proxy "
                    f"{proxy.shown}",
                    f"if the server should be reached directly, add it to NO_PROXY "
                    f"(NO_PROXY={host})",
                )
            )
    if await _version(state, address, report):
        await _models(state, address, report)


def _call(state: Settings) -> dict[str, Any]:
    """The global options every verb passes (``--api-key``, ``--api-key-file``, ``--timeout``),
    with a timeout of its own when none is given."""
    return {**state.call, "timeout": state.timeout or DEFAULT_TIMEOUT}


async def _version(state: Settings, address: ServerAddress, report: Report) -> bool:
    try:
        version = await Ollama.version(address, **_call(state))
    except ResponseStatusError as exc:
        report.row("reachable", f"yes, but /api/version answered {exc.status}")
        if exc.status == 404:
            report.problem(exc, NOT_OLLAMA)
            return True
        report.problem(exc)
        return False
    except ProviderError as exc:
        report.row("reachable", "no")
        report.problem(exc)
        return False
    report.row("reachable", "yes")
    report.row("version", f"Ollama {version}")
    return True


async def _models(state: Settings, address: ServerAddress, report: Report) -> None:
    try:
        names = await Ollama.get_models_async(address, refresh=True, **_call(state))
    except ProviderError as exc:
        report.row("models", "could not be listed")
        report.problem(exc)
        return
    if not names:
        report.row("models", "none installed")
        pull = CLI.pull.format(name="llama3.2")
        report.problems.append((f"no models installed at {address.root}", f"pull one: {pull}"))
        return
    count = f"{len(names)} installed" if len(names) != 1 else "1 installed"
    report.row("models", f"{count}; the default is {names[0]}")


def doctor(state: Settings) -> int:
    report = run(diagnose(state))
    console = stdout_console()
    width = LABEL_WIDTH
    for key, value in report.rows:
        label = f"[bold]{escape(key)}[/]" if key else ""
        console.print((label + " " * (width - len(key)) + escape(value)) if value else "")
    given: set[str] = set()
    for kind, items, colour in (
        ("warning", report.warnings, "yellow"),
        ("problem", report.problems, "red"),
    ):
        for what, advice in items:
            console.print()
            console.print(f"[bold {colour}]{kind}:[/] {escape(what)}")
            if advice and advice not in given:  # each fix is stated once
                given.add(advice)
                console.print(f"  [bold]fix:[/] {escape(advice)}")
    console.print()
    found = len(report.problems)
    if found:
        console.print(f"[bold red]{found} problem{'s' if found != 1 else ''} found[/]")
        return EXIT_USAGE if report.bad_address else EXIT_ERROR
    console.print("[bold green]no problems found[/]")
    return 0
