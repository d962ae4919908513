"""Providers: plain classes with attributes and class methods, one per kind of server."""

from .ollama import Ollama
from .openai_api import OpenaiAPI

__all__ = ["Ollama", "OpenaiAPI"]
