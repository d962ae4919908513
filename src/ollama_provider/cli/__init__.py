"""The ``ollama-provider`` command (also ``python -m ollama_provider``).

Exit codes: 0 success, 1 an error from the server or the network, 2 bad usage,
130 interrupted (Ctrl-C). Errors are one line on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import click

from ._app import cli
from ._common import EXIT_ERROR, EXIT_INTERRUPTED

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    for stream in (sys.stdout, sys.stderr):
        # An answer the terminal's encoding cannot hold shows replacement marks, not a crash.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    # The library's warnings (a prompt cut to the context window) are said by the verbs in
    # the command line's words; --debug adds a handler that shows the library's log.
    logging.getLogger("ollama_provider").addHandler(logging.NullHandler())
    try:
        code = cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:  # Ctrl-C outside a verb (click has printed a newline)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except BrokenPipeError:
        # The reader left (`... | head -1`): stop quietly, as click does inside a verb.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    return code if isinstance(code, int) else 0
