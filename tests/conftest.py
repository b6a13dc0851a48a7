"""Shared fixtures: a blank Spanish pipeline and a helper that writes BRAT files byte for byte."""
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

import pytest
import spacy

if TYPE_CHECKING:
    from flair.models import SequenceTagger

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


LABELS = ["ENFERMEDAD", "FARMACO", "SINTOMA"]


@pytest.fixture(scope="session")
def tiny_tagger_path(tmp_path_factory) -> Path:
    """A randomly initialised forward+backward Flair tagger in the safe format (no download, ~0.2 MB)."""
    from spacy_clinical_flair.models.tagger_format import save_tagger

    return save_tagger(random_tagger(LABELS, seed=0), tmp_path_factory.mktemp("models") / "tiny-tagger.safetensors")


def sample_texts(split: str = "dev"):
    return [p.read_bytes().decode("utf-8") for p in sorted((SAMPLE / split).glob("*.txt"))]


@pytest.fixture(scope="session")
def tiny_transformer(tmp_path_factory) -> Path:
    """A 2-layer BERT with a WordPiece vocabulary trained on the sample's text, saved as a local folder."""
    return build_tiny_transformer(tmp_path_factory.mktemp("tiny-bert"))


def build_tiny_transformer(folder: Path) -> Path:
    """Write the tiny BERT of the ``tiny_transformer`` fixture into ``folder`` (no download): the one that
    ``scripts/tiny_transformer.py`` builds for users, vocabulary from the sample's training notes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_transformer", REPO / "scripts" / "tiny_transformer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny_transformer(folder, sample_texts("train"))


def random_tagger(
    labels: Sequence[str], lm_hidden_size: int = 32, tagger_hidden_size: int = 16, texts: Iterable[str] = (),
    seed: int = 0,
) -> "SequenceTagger":
    """A randomly initialised forward+backward tagger, for tests and timing (not for accuracy)."""
    import torch

    from spacy_clinical_flair.models.build import build_language_model, build_tagger, character_dictionary

    torch.manual_seed(seed)
    dictionary = character_dictionary(texts)
    lms = [build_language_model(dictionary, forward, hidden_size=lm_hidden_size, embedding_size=16)
           for forward in (True, False)]
    tagger = build_tagger(labels, lms, hidden_size=tagger_hidden_size)
    tagger.eval()
    return tagger
