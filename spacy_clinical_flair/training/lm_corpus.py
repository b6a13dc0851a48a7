"""The text corpus of a character LM: gathering the documents and writing Flair's text-corpus layout
(``train/train_split_*``, ``valid.txt``, ``test.txt``).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence


@dataclass
class LMCorpusSettings:
    """How the LM text corpus is split."""

    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    split_chars: int = 1_000_000  # characters per training split; validation runs after each split
    seed: int = 0


@dataclass
class LMCorpusInfo:
    """What :func:`prepare_lm_corpus` wrote."""

    folder: Path
    documents: int
    train_chars: int
    valid_chars: int
    test_chars: int
    splits: int
    dropped_documents: int = 0  # left out for sharing a sentence with a test split ([corpus] drop_overlapping)
    duplicate_documents: int = 0  # left out as near-repeats of another document ([corpus] drop_duplicates)


class LMCorpusTooSmall(ValueError):
    """The text cannot fill the batches the settings ask for."""


def gather_texts(spacy_files: Sequence[Path] = (), text_dirs: Sequence[Path] = (), lang: str = "es") -> List[str]:
    """Document texts from ``.spacy`` files and every ``.txt`` file under the text folders."""
    from ..corpus.docs import read_docbin

    texts: List[str] = []
    for path in spacy_files:
        texts.extend(doc.text for doc in read_docbin(path, lang))
    for folder in text_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"LM text folder {folder} does not exist")
        texts.extend(p.read_bytes().decode("utf-8", errors="replace") for p in sorted(folder.rglob("*.txt")))
    return [text.replace("\ufeff", "") for text in texts if text.strip()]


def prepare_lm_corpus(texts: Sequence[str], folder: Path, settings: Optional[LMCorpusSettings] = None) -> LMCorpusInfo:
    """Write Flair's text-corpus layout; documents are shuffled, then split into train/valid/test (``settings``
    default: ``LMCorpusSettings()``)."""
    settings = settings or LMCorpusSettings()
    if len(texts) < 3:
        raise LMCorpusTooSmall(f"{len(texts)} documents of text: at least 3 are needed (train, valid, test)")
    documents = [_normalise(text) for text in texts]
    random.Random(settings.seed).shuffle(documents)
    n_valid = max(1, round(len(documents) * settings.valid_fraction))
    n_test = max(1, round(len(documents) * settings.test_fraction))
    valid, test, train = documents[:n_valid], documents[n_valid:n_valid + n_test], documents[n_valid + n_test:]
    folder = Path(folder)
    (folder / "train").mkdir(parents=True, exist_ok=True)
    for old in (folder / "train").glob("train_split_*"):
        old.unlink()
    splits = _write_splits(train, folder / "train", settings.split_chars)
    (folder / "valid.txt").write_text("\n".join(valid) + "\n", encoding="utf-8")
    (folder / "test.txt").write_text("\n".join(test) + "\n", encoding="utf-8")
    return LMCorpusInfo(folder, len(documents), sum(map(len, train)) + len(train), sum(map(len, valid)) + len(valid),
                        sum(map(len, test)) + len(test), splits)


def _normalise(text: str) -> str:
    """One document per line: Flair's text corpus uses the newline as the document delimiter."""
    return re.sub(r"\s*\n\s*", " ", text.replace("\r", "")).strip()


def _write_splits(documents: Sequence[str], folder: Path, split_chars: int) -> int:
    splits, current, size = 0, [], 0
    for document in documents:
        current.append(document)
        size += len(document) + 1
        if size >= split_chars:
            splits += 1
            (folder / f"train_split_{splits}").write_text("\n".join(current) + "\n", encoding="utf-8")
            current, size = [], 0
    if current:
        splits += 1
        (folder / f"train_split_{splits}").write_text("\n".join(current) + "\n", encoding="utf-8")
    return splits


def corpus_summary(info: LMCorpusInfo) -> str:
    dropped = (f" ({info.dropped_documents} more left out: they share a sentence with a test split)"
               if info.dropped_documents else "")
    if info.duplicate_documents:
        dropped += f" ({info.duplicate_documents} near-repeats of other documents left out)"
    return (f"LM corpus: {info.documents} documents{dropped}, {info.train_chars} training characters in "
            f"{info.splits} split(s), {info.valid_chars} valid, {info.test_chars} test")
