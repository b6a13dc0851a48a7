"""Shared fixtures: a blank Spanish pipeline and a helper that writes BRAT files byte for byte."""
from pathlib import Path
from typing import Optional

import pytest
import spacy

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "assets" / "sample"


@pytest.fixture(scope="session")
def nlp():
    return spacy.blank("es")


def write_pair(folder: Path, name: str, text: str, ann: Optional[str]) -> Path:
    """Write NAME.txt (exact UTF-8 bytes, no newline translation) and NAME.ann unless ann is None."""
    txt = folder / f"{name}.txt"
    txt.parent.mkdir(parents=True, exist_ok=True)
    txt.write_bytes(text.encode("utf-8"))
    if ann is not None:
        txt.with_suffix(".ann").write_bytes(ann.encode("utf-8"))
    return txt
