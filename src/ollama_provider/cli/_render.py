"""Terminal output with rich: tables, pull/push/create progress, sizes, relative times, JSON,
and the ``--verbose`` timing lines.

Colour and progress bars only on a terminal (rich also honours ``NO_COLOR`` and
``TERM=dumb``); through a pipe, tables come out as plain aligned columns with no
trailing blanks. Imported only by the verbs that print something.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.filesize import decimal
from rich.padding import Padding
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from .. import ModelInfo, RunningModel, ShowResult, Usage
from .. import Progress as ProgressLine

__all__ = [
    "ProgressView",
    "human_size",
    "jsonable",
    "models_table",
    "print_json",
    "ps_table",
    "relative_time",
    "show",
    "show_sections",
    "stats_lines",
    "stderr_console",
    "stdout_console",
]

_UNITS = (
    ("year", 365 * 86400),
    ("month", 30 * 86400),
    ("week", 7 * 86400),
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
    ("second", 1),
)
_NEVER = 100 * 365 * 86400  # keep_alive -1 expires in ~292 years: that is "never"


def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def show(renderable: RenderableType) -> None:
    """Print to stdout: styled on a terminal, plain columns (no trailing blanks) otherwise."""
    console = stdout_console()
    if console.is_terminal:
        console.print(renderable)
        return
    buffer = io.StringIO()
    plain = Console(
        file=buffer, width=10_000, color_system=None, highlight=False, force_terminal=False
    )
    plain.print(renderable)
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def human_size(size: int) -> str:
    """Bytes in decimal units, as Ollama shows them: ``2.0 GB``; empty for unknown (0)."""
    return decimal(size) if size > 0 else ""


def relative_time(when: datetime | None, now: datetime | None = None) -> str:
    """``3 days ago`` / ``in 4 minutes`` (whole units, rounded down); "" for unknown."""
    if when is None:
        return ""
    now = now if now is not None else datetime.now(timezone.utc)
    seconds = (when - now).total_seconds()
    future = seconds > 0
    span = abs(seconds)
    if future and span >= _NEVER:
        return "never"
    if span < 1:
        return "just now"
    unit, size = next((u, n) for u, n in _UNITS if span >= n)
    count = int(span // size)
    words = f"{count} {unit}{'' if count == 1 else 's'}"
    return f"in {words}" if future else f"{words} ago"


def _table(*headers: str) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for header in headers:
        table.add_column(header, no_wrap=True)
    return table


def models_table(
    models: Iterable[ModelInfo], now: datetime | None = None, *, servers: bool = False
) -> Table:
    """``models``; with ``servers``, a SERVER column says where each one is."""
    headers = ["NAME", "SIZE", "FAMILY", "PARAMETERS", "QUANTIZATION", "MODIFIED"]
    table = _table(*headers, *(["SERVER"] if servers else []))
    for m in models:
        row: list[Any] = [
            Text(m.name, style="bold cyan"),
            human_size(m.size),
            m.details.family,
            m.details.parameter_size,
            m.details.quantization_level,
            relative_time(m.modified_at, now),
        ]
        table.add_row(*row, *([m.server] if servers else []))
    return table


def _processor(model: RunningModel) -> str:
    if model.size <= 0:
        return ""
    gpu = round(100 * min(model.size_vram, model.size) / model.size)
    if gpu >= 100:
        return "100% GPU"
    if gpu <= 0:
        return "100% CPU"
    return f"{100 - gpu}%/{gpu}% CPU/GPU"


def ps_table(
    models: Iterable[RunningModel], now: datetime | None = None, *, servers: bool = False
) -> Table:
    """``ps``; with ``servers``, a SERVER column says where each one runs."""
    headers = ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]
    table = _table(*headers, *(["SERVER"] if servers else []))
    for m in models:
        digest = m.digest.removeprefix("sha256:")[:12]
        row: list[Any] = [
            Text(m.name, style="bold cyan"),
            digest,
            human_size(m.size),
            _processor(m),
            str(m.context_length or ""),
            relative_time(m.expires_at, now),
        ]
        table.add_row(*row, *([m.server] if servers else []))
    return table


def _grid(rows: Sequence[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 4))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    for key, value in rows:
        grid.add_row(key, Text(value))
    return grid


def show_sections(result: ShowResult, now: datetime | None = None) -> Padding:
    """``show``: the model, its capabilities, its parameters, as indented sections."""
    info = result.model_info
    arch = info.get("general.architecture")
    model_rows = [
        ("architecture", str(arch) if isinstance(arch, str) and arch else result.details.family),
        ("parameters", result.details.parameter_size),
        ("context length", str(result.context_length or "")),
        ("quantization", result.details.quantization_level),
        ("format", result.details.format),
        ("modified", relative_time(result.modified_at, now)),
    ]
    if isinstance(arch, str) and isinstance(info.get(f"{arch}.embedding_length"), int):
        model_rows.insert(3, ("embedding length", str(info[f"{arch}.embedding_length"])))
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        ("Model", [(k, v) for k, v in model_rows if v]),
        ("Capabilities", [(c, "") for c in result.capabilities]),
        ("Parameters", _parameter_rows(result.parameters)),
    ]
    if result.system:
        sections.append(("System", [(line, "") for line in result.system.splitlines()]))
    parts: list[RenderableType] = []
    for title, rows in sections:
        if rows:
            if parts:
                parts.append(Text(""))
            parts.append(Text(title, style="bold"))
            parts.append(Padding(_grid(rows), (0, 0, 0, 2)))
    return Padding(Group(*parts), (0, 0, 0, 2))


def _parameter_rows(parameters: dict[str, str | list[str]]) -> list[tuple[str, str]]:
    rows = []
    for key, value in parameters.items():
        for one in value if isinstance(value, list) else [value]:
            rows.append((key, json.dumps(one, ensure_ascii=False) if key == "stop" else one))
    return rows


def jsonable(value: Any) -> Any:
    """Dataclasses as dicts, datetimes as ISO 8601, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(value), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


class ProgressView:
    """Pull, push and create progress on stderr: a bar per layer on a terminal, plain status
    lines otherwise.

    The screen reads top to bottom in the order things happened: the bars are
    finished (at 100 %) and left in place before the status lines that follow
    them ("verifying sha256 digest", "writing manifest") are printed below.
    """

    def __init__(self) -> None:
        self.console = stderr_console()
        self.live = self.console.is_terminal
        self.status = ""
        self._progress: Progress | None = None
        self._tasks: dict[str, tuple[TaskID, int]] = {}
        self._done: set[str] = set()
        self._said: set[str] = set()

    def __enter__(self) -> ProgressView:
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish_bars(complete=exc[0] is None)

    def update(self, line: ProgressLine) -> None:
        self.status = line.status
        if line.digest and line.total:
            verb = line.status.split(" ", 1)[0] if line.status else "pulling"
            self._layer(verb, line.digest, line.total, line.completed or 0)
        elif line.status and line.status != "success" and line.status not in self._said:
            self._said.add(line.status)
            self._finish_bars(complete=True)
            self._say(line.status)

    def _bars(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._progress.start()
        return self._progress

    def _finish_bars(self, *, complete: bool) -> None:
        progress, self._progress = self._progress, None
        if progress is None:
            return
        if complete:
            for task, total in self._tasks.values():
                progress.update(task, completed=total)
        progress.stop()  # the last frame stays on the screen, above what follows

    def _layer(self, verb: str, digest: str, total: int, completed: int) -> None:
        short = digest.removeprefix("sha256:")[:12]
        if self.live:
            progress = self._bars()
            found = self._tasks.get(digest)
            task = found[0] if found else progress.add_task(f"{verb} {short}", total=total)
            self._tasks[digest] = (task, total)
            progress.update(task, completed=completed, total=total)
        elif completed >= total and digest not in self._done:
            self._done.add(digest)
            self._say(f"{verb} {short}: {human_size(total)}")

    def _say(self, text: str) -> None:
        if self.live:
            self.console.print(Text(text))
        else:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _rate(tokens: int, seconds: float | None) -> str:
    return f"{tokens / seconds:.2f} tokens/s" if seconds and tokens else ""


def stats_lines(
    usage: Usage | None, total: float, first_text: float | None, generating: float
) -> str:
    """``--verbose`` timing, as ``ollama run --verbose`` shows it: the server's durations
    where it reports them, else the times measured here."""
    rows: list[tuple[str, str]] = []
    server_total = usage.total_duration if usage else None
    rows.append(("total duration", _seconds(server_total if server_total else total)))
    if usage and usage.load_duration is not None:
        rows.append(("load duration", _seconds(usage.load_duration)))
    if first_text is not None:
        rows.append(("first text after", _seconds(first_text)))
    if usage:
        rows.append(("prompt eval count", f"{usage.prompt_tokens} token(s)"))
        if usage.prompt_eval_duration:
            rows.append(("prompt eval duration", _seconds(usage.prompt_eval_duration)))
            rows.append(
                ("prompt eval rate", _rate(usage.prompt_tokens, usage.prompt_eval_duration))
            )
        evals = usage.eval_duration if usage.eval_duration else generating
        rows.append(("eval count", f"{usage.completion_tokens} token(s)"))
        rows.append(("eval duration", _seconds(evals)))
        rows.append(("eval rate", _rate(usage.completion_tokens, evals)))
    width = max(len(k) for k, _ in rows) + 2
    return "".join(f"{k + ':':<{width}}{v}\n" for k, v in rows if v)
