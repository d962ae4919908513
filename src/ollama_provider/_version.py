"""The library's version, kept apart so reading it imports nothing else."""

__all__ = ["__version__"]

__version__ = "0.1.0"
