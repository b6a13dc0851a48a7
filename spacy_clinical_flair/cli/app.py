"""The typer application that every command module adds its commands to."""
from __future__ import annotations

import typer

app = typer.Typer(
    add_completion=False,
    # click's plain help: typer's rich tables print "<bool>" after every flag with click 8.2+, --help included
    rich_markup_mode=None,
    no_args_is_help=True,
    help="spacy-clinical-flair: clinical NER with Flair character LMs in spaCy: BRAT conversion, LM and NER "
         "training, annotation at scale, error reports.",
)
