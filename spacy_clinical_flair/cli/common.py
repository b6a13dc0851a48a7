"""What the command modules share: the error exit, reading .spacy files and pipelines, option choices."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Iterator, NoReturn

import typer


def fail(message: str) -> NoReturn:
    """Print an error that says what was wrong and stop with exit code 1 (no traceback)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def read_docbin_or_exit(path: Path, lang: str) -> Iterator:
    """Docs of a ``.spacy`` file; a missing or unreadable file ends the command with its error."""
    from ..corpus.docs import read_docbin as read

    try:
        return read(path, lang)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))


def load_pipeline(pipeline: str, gpu_id: int):
    """``spacy.load`` of a pipeline folder or package, on GPU ``gpu_id`` (-1: CPU); failure ends the command."""
    import spacy

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    try:
        return spacy.load(pipeline)
    except (OSError, ValueError) as err:
        fail(f"could not load the pipeline {pipeline!r}: {err}")


class Discontinuous(str, Enum):
    """``flatten.DISCONTINUOUS_POLICIES``."""

    skip = "skip"
    cover = "cover"


class PrecisionChoice(str, Enum):
    """``precision.PRECISIONS``."""

    fp32 = "fp32"
    bf16 = "bf16"


class TokenizerChoice(str, Enum):
    """``tokenizer.TOKENIZERS``."""

    clinical = "clinical"
    default = "default"


class OutputFormat(str, Enum):
    """The output formats of ``annotate`` (the keys of ``annotate.shards.SHARD_NAMES``)."""

    brat = "brat"
    jsonl = "jsonl"
    parquet = "parquet"
    spacy = "spacy"
    deid = "deid"


class Engine(str, Enum):
    """Where ``annotate`` runs."""

    local = "local"
    ray = "ray"


def checked_lang(lang: str) -> str:
    """``lang`` when spaCy knows it, else the command ends with an error that says so."""
    import spacy

    try:
        spacy.blank(lang)
    except Exception:
        fail(f"unknown spaCy language code {lang!r} (e.g. 'es', 'pt', 'en')")
    return lang
