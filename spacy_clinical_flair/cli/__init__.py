"""Command-line interface: thin wrappers that parse arguments, call the library and print.

``python -m spacy_clinical_flair --help`` lists the commands. One module per group of commands, each adding
its commands to the one typer app (:mod:`.app`); they are imported here in the order ``--help`` lists them.
"""
from __future__ import annotations

from typing import List, Optional

# each module adds its commands to the app, in the order --help lists them  # isort: skip_file
from . import corpus  # noqa: F401
from . import models  # noqa: F401
from . import annotate  # noqa: F401
from . import deid  # noqa: F401
from . import evaluate  # noqa: F401
from . import train  # noqa: F401
from .app import app

__all__ = ["app", "main"]


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point of ``python -m spacy_clinical_flair`` and the ``clinical-flair`` script."""
    app(args=argv)
