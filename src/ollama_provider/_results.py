"""Typed results of the calls that do not stream text: embeddings and Ollama's web tools. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._model_records import str_or_empty as _str

__all__ = ["Embeddings", "WebPage", "WebSearchResult"]


@dataclass(frozen=True, slots=True)
class Embeddings:
    """One vector per input, in the order of the inputs."""

    embeddings: list[list[float]] = field(repr=False)
    model: str
    prompt_tokens: int = 0

    def __len__(self) -> int:
        return len(self.embeddings)

    def __repr__(self) -> str:
        width = len(self.embeddings[0]) if self.embeddings else 0
        return (
            f"Embeddings({len(self.embeddings)} × {width}, model={self.model!r}, "
            f"prompt_tokens={self.prompt_tokens})"
        )


@dataclass(frozen=True, slots=True)
class WebSearchResult:
    """One hit of ``web_search``."""

    title: str
    url: str
    content: str

    @classmethod
    def parse(cls, data: dict[str, Any]) -> WebSearchResult:
        return cls(_str(data.get("title")), _str(data.get("url")), _str(data.get("content")))


@dataclass(frozen=True, slots=True)
class WebPage:
    """A page read by ``web_fetch``: its title, its text, and the links on it."""

    title: str
    content: str
    links: tuple[str, ...] = ()

    @classmethod
    def parse(cls, data: dict[str, Any]) -> WebPage:
        links = data.get("links")
        return cls(
            _str(data.get("title")),
            _str(data.get("content")),
            tuple(link for link in links if isinstance(link, str))
            if isinstance(links, list)
            else (),
        )
