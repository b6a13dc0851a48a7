"""Has the LM text read a test split? Sentence overlap between LM training text and evaluation splits.

Clinical corpora share their documents (MEDDOCAN and MedProcNER are the same SPACCC cases with different
labels), so an LM pretrained on "the train and dev text of every corpus" can still have read a test split
of another. Before pretraining, :func:`overlap_report` splits every evaluation document into sentences and
looks each one up among the sentences of the LM text; :func:`require_clean` refuses the text when more than
``max_share`` (0.5 % by default) of any split's sentences are there.

A sentence is a line, or a stretch of a line ending in ``.``, ``!`` or ``?``, with its whitespace
collapsed. Sentences of fewer than ``min_words`` words (10) are not counted on either side: short lines are
shared by unrelated cases ("La auscultación cardiopulmonar era normal.", MEDDOCAN's synthetic header fields
such as "Fecha de nacimiento: 13/03/1955."), so they say nothing about a test document having been read.
When the first clean LMs were built on the SPACCC text, with 10 words the clean LM text held 0.20% / 0.00% of
MEDDOCAN / MedProcNER test sentences (author signature lines of other cases), and the same text plus either test
split 55-100% of both; the reports of the shipped LMs are in benchmarks/pretrain.md ("Contamination").
:func:`drop_overlapping` removes the LM documents that share a counted sentence with an evaluation split.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import srsly

from .lm_corpus import gather_texts

MIN_SENTENCE_WORDS = 10
MAX_TEST_SHARE = 0.005
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WHITESPACE = re.compile(r"\s+")


class ContaminatedText(ValueError):
    """The LM text holds more of an evaluation split's sentences than allowed."""


@dataclass
class SplitOverlap:
    """How much of one evaluation split the LM text holds."""

    split: str
    documents: int
    sentences: int  # sentences of at least min_words words
    found: int  # of those, how many are sentences of the LM text
    examples: List[str] = field(default_factory=list)  # a few of the sentences found

    @property
    def share(self) -> float:
        """``found / sentences`` (0.0 for a split without countable sentences)."""
        return self.found / self.sentences if self.sentences else 0.0

    def summary(self) -> str:
        """One line for a person: the split, its sentences found, and the share."""
        return (f"{self.split}: {self.found} of {self.sentences} sentences ({100 * self.share:.2f}%) of "
                f"{self.documents} documents are in the LM text")


def split_sentences(text: str, min_words: int = MIN_SENTENCE_WORDS) -> List[str]:
    """The sentences of ``text`` (see the module docstring), whitespace collapsed, shorter ones dropped."""
    sentences = []
    for line in text.splitlines():
        for piece in _SENTENCE_END.split(line):
            sentence = _WHITESPACE.sub(" ", piece).strip()
            if len(sentence.split()) >= min_words:
                sentences.append(sentence)
    return sentences


def sentence_set(texts: Iterable[str], min_words: int = MIN_SENTENCE_WORDS) -> Set[str]:
    """Every sentence of ``texts`` (see :func:`split_sentences`)."""
    return {sentence for text in texts for sentence in split_sentences(text, min_words)}


def overlap_report(lm_texts: Iterable[str], eval_splits: Mapping[str, Sequence[str]],
                   min_words: int = MIN_SENTENCE_WORDS, examples: int = 3) -> List[SplitOverlap]:
    """For each named evaluation split (its document texts), the sentences also found in ``lm_texts``."""
    known = sentence_set(lm_texts, min_words)
    reports = []
    for name, documents in eval_splits.items():
        sentences = [s for text in documents for s in split_sentences(text, min_words)]
        found = [s for s in sentences if s in known]
        reports.append(SplitOverlap(name, len(documents), len(sentences), len(found), found[:examples]))
    return reports


def require_clean(reports: Sequence[SplitOverlap], max_share: float = MAX_TEST_SHARE) -> None:
    """Raise :class:`ContaminatedText` naming every split whose share is above ``max_share``."""
    dirty = [report for report in reports if report.share > max_share]
    if dirty:
        lines = "; ".join(f"{r.summary()}, e.g. {r.examples[0]!r}" for r in dirty)
        raise ContaminatedText(
            f"the LM text holds test text ({lines}); the limit is {100 * max_share:.2f}% per split. Remove the "
            "documents that share these sentences from the LM text (or the test split from the text folders)")


def drop_overlapping(lm_texts: Sequence[str], eval_texts: Iterable[str],
                     min_words: int = MIN_SENTENCE_WORDS) -> List[str]:
    """``lm_texts`` without the documents that share a counted sentence with any of ``eval_texts``."""
    banned = sentence_set(eval_texts, min_words)
    return [text for text in lm_texts if banned.isdisjoint(split_sentences(text, min_words))]


def drop_duplicate_documents(texts: Sequence[str], max_seen_share: float = 0.5,
                             min_words: int = MIN_SENTENCE_WORDS) -> List[str]:
    """The texts without near-repeats, in the order they came: longest first, a document is left out when
    more than ``max_seen_share`` of its sentences of ``min_words``+ words are in a document already kept
    (a document with no such sentence is left out only when its whole text repeats a kept one).

    Corpora annotated over the same cases (MedProcNER, PharmaCoNER and SympTEMIST share their case texts;
    MEDDOCAN's copies add a header and a footer) would otherwise be read several times per epoch and put
    twins of validation documents into the training text."""
    seen_sentences: Set[str] = set()
    seen_texts: Set[str] = set()
    keep: Set[int] = set()
    for index in sorted(range(len(texts)), key=lambda i: -len(texts[i])):
        sentences = set(split_sentences(texts[index], min_words))
        whole = _WHITESPACE.sub(" ", texts[index]).strip()
        repeated = (len(sentences & seen_sentences) > max_seen_share * len(sentences) if sentences
                    else whole in seen_texts)
        if not repeated:
            keep.add(index)
            seen_sentences |= sentences
            seen_texts.add(whole)
    return [text for index, text in enumerate(texts) if index in keep]


def check_test_overlap(texts: Sequence[str], eval_paths: Sequence[str], report_path: Optional[Path] = None,
                       lang: str = "es", max_share: float = MAX_TEST_SHARE,
                       drop: bool = False) -> Tuple[List[str], List[SplitOverlap]]:
    """Refuse LM text that holds more than ``max_share`` of the sentences of any evaluation split
    (:class:`ContaminatedText`). Each split is a ``.spacy`` file or a folder of ``.txt``
    files. With ``drop``, LM documents that share a sentence with a split are removed first. Returns the
    (remaining) texts and each split's overlap, also written to ``report_path`` as JSON."""
    splits: Dict[str, List[str]] = {}
    for path in map(Path, eval_paths):
        if not (path.is_dir() or (path.is_file() and path.suffix == ".spacy")):
            raise FileNotFoundError(f"evaluation split {path} is neither a folder of .txt files nor a .spacy file")
        splits[str(path)] = gather_texts([path] if path.is_file() else (), [path] if path.is_dir() else (), lang)
    kept = drop_overlapping(texts, [t for split in splits.values() for t in split]) if drop else list(texts)
    reports = overlap_report(kept, splits)
    if report_path is not None and reports:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(report_path, {"max_test_share": max_share, "min_words": MIN_SENTENCE_WORDS,
                                       "documents": len(texts), "dropped_documents": len(texts) - len(kept),
                                       "splits": [{**asdict(r), "share": r.share} for r in reports]})
    require_clean(reports, max_share)
    return kept, reports
