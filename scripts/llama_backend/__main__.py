"""``python -m scripts.llama_backend provision|serve|status`` (see the package docstring)."""

import sys

from ._cli import main

sys.exit(main())
