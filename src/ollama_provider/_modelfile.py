"""A Modelfile to the fields of Ollama's ``/api/create``. Pure: paths are resolved, not read.

The server no longer takes a Modelfile's text; clients turn it into fields:
``FROM`` (a model name, or a local GGUF file or safetensors folder to upload),
``PARAMETER name value`` (``stop`` may repeat), ``TEMPLATE``, ``SYSTEM``,
``LICENSE`` (may repeat), ``ADAPTER``, ``MESSAGE role text``, ``REQUIRES``.
Values may be quoted (``"…"``) or span lines in triple quotes (``\"\"\"…\"\"\"``);
lines starting with ``#`` are comments; command names are case-insensitive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ModelfileError", "ModelfileFields", "local_path", "parse_modelfile", "unquote"]

_COMMANDS = frozenset(
    {"from", "parameter", "template", "system", "adapter", "license", "message", "requires"}
)
_ROLES = frozenset({"system", "user", "assistant", "tool"})
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?\Z")


class ModelfileError(ValueError):
    """A Modelfile that cannot be read; the message names the line."""


@dataclass
class ModelfileFields:
    """What a Modelfile asks for. ``from_path`` is set when FROM names a local file."""

    from_: str | None = None
    from_path: Path | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    template: str | None = None
    system: str | None = None
    license: list[str] = field(default_factory=list)
    adapters: list[Path] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    requires: str | None = None


def _value(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if _NUMBER.match(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    return text


def unquote(text: str) -> str:
    """A value without the double quotes around it, if it has them."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def local_path(name: str, base: Path) -> Path | None:
    """A FROM or ADAPTER value that names a file or folder on this machine."""
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = base / path
    return path if path.exists() else None


def _commands(text: str) -> list[tuple[int, str, str]]:
    """(line number, command, raw value), with triple-quoted values joined across lines."""
    found: list[tuple[int, str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(" ")
        if name.lower() not in _COMMANDS:
            raise ModelfileError(f"line {number}: unknown command {name!r}")
        rest = rest.strip()
        if rest.startswith('"""'):
            body = rest[3:]
            while '"""' not in body:
                if i >= len(lines):
                    raise ModelfileError(f'line {number}: a """ value is never closed')
                body += "\n" + lines[i]
                i += 1
            rest = '"""' + body[: body.index('"""')]
        found.append((number, name.lower(), rest))
    return found


def parse_modelfile(text: str, base: Path | None = None) -> ModelfileFields:
    """The fields of a Modelfile; relative paths are taken from ``base`` (its folder)."""
    base = base or Path.cwd()
    fields = ModelfileFields()
    for number, command, raw in _commands(text):
        value = raw[3:] if raw.startswith('"""') else unquote(raw)
        if not value and command not in ("system", "template", "license"):
            raise ModelfileError(f"line {number}: {command.upper()} needs a value")
        if command == "from":
            path = local_path(value, base)
            fields.from_, fields.from_path = (None, path) if path else (value, None)
        elif command == "parameter":
            key, _, text_value = value.partition(" ")
            text_value = unquote(text_value.strip())
            if not key or not text_value:
                raise ModelfileError(f"line {number}: PARAMETER needs a name and a value")
            if key == "stop":
                fields.parameters.setdefault("stop", []).append(text_value)
            else:
                fields.parameters[key] = _value(text_value)
        elif command == "message":
            role, _, content = value.partition(" ")
            if role.lower() not in _ROLES:
                raise ModelfileError(
                    f"line {number}: MESSAGE role {role!r} is not one of {sorted(_ROLES)}"
                )
            fields.messages.append({"role": role.lower(), "content": unquote(content.strip())})
        elif command == "adapter":
            path = local_path(value, base)
            if path is None:
                raise ModelfileError(f"line {number}: ADAPTER {value!r} is not a file here")
            fields.adapters.append(path)
        elif command == "license":
            fields.license.append(value)
        elif command in ("template", "system", "requires"):
            setattr(fields, command, value)
    if fields.from_ is None and fields.from_path is None:
        raise ModelfileError("the Modelfile has no FROM line")
    return fields
