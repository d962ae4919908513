"""``doctor``: where the server is, how that was derived, and what to do about each problem."""

from __future__ import annotations

import ipaddress
import os
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rich.markup import escape

from .. import (
    InvalidHostError,
    Ollama,
    ProviderError,
    ResponseStatusError,
    ServerUnreachableError,
)
from ._common import Settings, error_text, run
from ._render import stdout_console

__all__ = ["Report", "diagnose", "doctor"]

START = (
    "start Ollama with `ollama serve` (or its desktop app); if it runs on another machine "
    "or port, set OLLAMA_HOST=HOST:PORT or pass --host URL"
)
FORBIDDEN = (
    "Ollama refused the request's Host header (403): a server bound to loopback only "
    "answers to localhost, loopback and private addresses. Connect with OLLAMA_HOST="
    "127.0.0.1:PORT (or have your proxy or tunnel send `Host: localhost`), or start the "
    "server with OLLAMA_HOST=0.0.0.0 ollama serve to accept other names"
)
NOT_OLLAMA = (
    "the server has no /api/version, so it is not Ollama (an OpenAI-compatible server such "
    "as llama.cpp or vLLM?): `chat` and `models` work with it; `pull`, `show` and `ps` need Ollama"
)
PULL = (
    "no models installed: pull one with `ollama pull llama3.2` (or `ollama-provider pull llama3.2`)"
)
LABEL_WIDTH = len("reachable") + 2
_PROXY_VARS = {
    "http": ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"),
    "https": ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"),
}


@dataclass
class Report:
    rows: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def row(self, key: str, value: str) -> None:
        self.rows.append((key, value))


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hide_credentials(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" in rest.split("/", 1)[0]:
        rest = "***@" + rest.rpartition("@")[2]
    return scheme + sep + rest


def _source(state: Settings, source: str) -> str:
    if source == "api_base":
        return "--host"
    if source in ("OLLAMA_HOST", "OLLAMA_PORT"):
        value = os.environ.get(source, "")
        shown = "(hidden: it holds credentials)" if "@" in value else repr(value)
        return f"{source}={shown}"
    return "the default address"


def _proxy(scheme: str, host: str) -> tuple[str, str] | None:
    """(variable, proxy URL without credentials) when one applies to a non-loopback host."""
    if _is_loopback(host):
        return None
    for name in _PROXY_VARS.get(scheme, ()):
        value = os.environ.get(name, "").strip()
        if not value:
            continue
        if urllib.request.proxy_bypass_environment(host.strip("[]")):  # type: ignore[attr-defined]
            return None
        return name, _hide_credentials(value)
    return None


async def diagnose(state: Settings) -> Report:
    report = Report()
    try:
        address = Ollama.server_address(state.api_base)
    except InvalidHostError as exc:
        report.row("server", "invalid address")
        report.problems.append(
            (
                error_text(exc, state),
                "fix the value, e.g. OLLAMA_HOST=127.0.0.1:11434, or unset it to use "
                "127.0.0.1:11434",
            )
        )
        return report
    report.row("server", address.root)
    report.row("from", _source(state, address.source))
    for note in address.notes:
        report.row("", note)
    parts = urlsplit(address.root)
    if parts.path.rstrip("/").endswith("/v1"):
        report.warnings.append(
            (
                f"the address ends in /v1, which a server root does not: requests go to "
                f"{address.root}/api/... and {address.root}/v1/...",
                "give the server's root (e.g. http://127.0.0.1:11434): /v1 is added where needed",
            )
        )
    proxy = _proxy(parts.scheme, parts.hostname or "")
    if proxy is not None:
        name, url = proxy
        report.row("proxy", f"{url} (from {name})")
        report.warnings.append(
            (
                f"{name} is set, so requests to {parts.hostname} go through the proxy {url}",
                f"if the server should be reached directly, add it to NO_PROXY "
                f"(NO_PROXY={parts.hostname})",
            )
        )
    reachable = await _version(state, report)
    if reachable:
        await _models(state, report)
    return report


async def _version(state: Settings, report: Report) -> bool:
    try:
        version = await Ollama.version(state.api_base, timeout=state.timeout or 10.0)
    except ServerUnreachableError as exc:
        report.row("reachable", "no")
        report.problems.append((error_text(exc, state), START))
        return False
    except ResponseStatusError as exc:
        report.row("reachable", f"yes, but /api/version answered {exc.status}")
        if exc.status == 403:
            report.problems.append((error_text(exc, state), FORBIDDEN))
            return False
        if exc.status == 404:
            report.problems.append((error_text(exc, state), NOT_OLLAMA))
            return True
        report.problems.append((error_text(exc, state), "see the server's log"))
        return False
    except ProviderError as exc:
        report.row("reachable", "no answer")
        report.problems.append((error_text(exc, state), START))
        return False
    report.row("reachable", "yes")
    report.row("version", f"Ollama {version}")
    return True


async def _models(state: Settings, report: Report) -> None:
    try:
        names = await Ollama.get_models_async(
            state.api_base, refresh=True, timeout=state.timeout or 10.0
        )
    except ProviderError as exc:
        report.row("models", "could not be listed")
        report.problems.append((error_text(exc, state), "see the server's log"))
        return
    if not names:
        report.row("models", "none installed")
        report.problems.append((PULL, "then try `ollama-provider chat -m llama3.2 'Hello'`"))
        return
    count = f"{len(names)} installed" if len(names) != 1 else "1 installed"
    report.row("models", f"{count}; the default is {names[0]}")


def doctor(state: Settings) -> int:
    report = run(diagnose(state))
    console = stdout_console()
    width = LABEL_WIDTH
    for key, value in report.rows:
        style = "bold" if key else ""
        label = f"[{style}]{escape(key)}[/]" if style else ""
        console.print(label + " " * (width - len(key)) + escape(value))
    for kind, items, colour in (
        ("warning", report.warnings, "yellow"),
        ("problem", report.problems, "red"),
    ):
        for what, advice in items:
            console.print()
            console.print(f"[bold {colour}]{kind}:[/] {escape(what)}")
            console.print(f"  [bold]fix:[/] {escape(advice)}")
    console.print()
    found = len(report.problems)
    if found:
        console.print(f"[bold red]{found} problem{'s' if found != 1 else ''} found[/]")
        return 1
    console.print("[bold green]no problems found[/]")
    return 0
