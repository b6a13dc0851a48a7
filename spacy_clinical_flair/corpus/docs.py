"""From a BRAT document to a spaCy Doc whose tokens align exactly with every entity.

The text is tokenised by the pipeline's tokenizer; wherever an entity edge falls inside a
token, the token is split there (and counted). ``doc.ents`` gets the flattened entities,
``doc.spans["brat"]`` every original entity (fragments share the entity's label and carry its
BRAT id as ``span.id_``), ``doc.user_data["doc_id"]`` the document id, and sentence boundaries
come from :class:`~spacy_clinical_flair.text.sentences.ClinicalSentencizer`. :func:`read_docbin` is the one
reader of ``.spacy`` files that the CLI and the training code share.
"""
from __future__ import annotations

import bisect
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.attrs import IDX, LENGTH, SPACY
from spacy.tokens import Doc, Span, SpanGroup

from .flatten import FlatSpan

#: The span group that keeps every original BRAT entity.
#: A file or folder path, as the public functions take it.
PathLike = Union[str, "os.PathLike[str]"]

BRAT_SPANS_KEY = "brat"
#: ``doc.user_data`` key of the document id (the ``.txt`` path relative to the corpus folder).
DOC_ID_KEY = "doc_id"


def read_docbin(path, lang: str = "es") -> Iterator[Doc]:
    """The Docs of a ``.spacy`` file; a missing or unreadable file is an error that says what to do."""
    import spacy
    from spacy.tokens import DocBin

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; pass a .spacy file written by "
                                "'python -m spacy_clinical_flair convert' or 'spacy convert'")
    try:
        docbin = DocBin().from_disk(path)
    except Exception as err:  # DocBin raises various errors for non-DocBin bytes
        raise ValueError(f"{path} is not a readable spaCy DocBin ({type(err).__name__}: {err})") from err
    return docbin.get_docs(spacy.blank(lang).vocab)


def split_tokens_at(doc: Doc, boundaries: Iterable[int], text: Optional[str] = None) -> Tuple[Doc, int]:
    """Return a Doc with a token edge at every character offset in ``boundaries``.

    Tokens that contain a boundary are cut there; the text is unchanged character for
    character. Returns the new Doc (``doc`` itself when nothing had to be cut) and the number
    of original tokens that were split. ``text``: ``doc.text`` when the caller has it (spaCy
    rebuilds it from the tokens on every access).
    """
    cuts = sorted(set(boundaries))
    if not _cuts_inside_tokens(doc, cuts):
        return doc, 0
    words: List[str] = []
    spaces: List[bool] = []
    split = 0
    text = doc.text if text is None else text
    if len(doc) and doc[-1].idx + len(doc[-1].text_with_ws) != len(text):
        raise ValueError("split_tokens_at: the text given is not the Doc's text")
    columns = doc.to_array([IDX, LENGTH, SPACY]).astype("int64")  # no Token object per token
    for start, length, space_after in columns.tolist():
        end = start + length
        inner = cuts[bisect.bisect_right(cuts, start):bisect.bisect_left(cuts, end)]
        if inner:
            split += 1
        points = [start, *inner, end]
        for piece_start, piece_end in zip(points, points[1:]):
            words.append(text[piece_start:piece_end])
            spaces.append(False)
        spaces[-1] = bool(space_after)
    return Doc(doc.vocab, words=words, spaces=spaces), split


def _cuts_inside_tokens(doc: Doc, cuts: List[int]) -> bool:
    """Whether any offset falls strictly inside a token (vectorised: most documents need no split)."""
    if not cuts or not len(doc):
        return False
    starts = doc.to_array(IDX).astype("int64")
    ends = starts + doc.to_array(LENGTH).astype("int64")
    offsets = numpy.asarray(cuts, dtype="int64")
    token = numpy.searchsorted(starts, offsets, side="right") - 1  # the token starting at or before
    inside = (token >= 0) & (offsets > starts[token.clip(0)]) & (offsets < ends[token.clip(0)])
    return bool(inside.any())


def char_spans(doc: Doc, spans: Sequence[FlatSpan]) -> List[Span]:
    """spaCy spans for character spans that are known to align with token edges."""
    result = []
    for span in spans:
        aligned = doc.char_span(span.start, span.end, label=span.label, span_id=span.entity_id)
        if aligned is None:
            raise ValueError(
                f"span {span.start}-{span.end} ({span.label}) does not align with the tokens of "
                f"{doc.user_data.get(DOC_ID_KEY, 'the document')}; split the tokens at its edges first")
        result.append(aligned)
    return result


def build_doc(
    make_doc: Callable[[str], Doc],
    text: str,
    ents: Sequence[FlatSpan],
    spans: Sequence[FlatSpan],
    doc_id: str,
    sentencizer: Callable[[Doc], Doc],
) -> Tuple[Doc, int]:
    """Tokenise ``text``, align it to all spans, and set ents, span group, id and sentences.

    Returns the Doc and the number of tokenizer tokens that had to be split.
    """
    boundaries = {offset for span in (*ents, *spans) for offset in (span.start, span.end)}
    if text.startswith("\ufeff") and len(text) > 1:
        boundaries.add(1)  # a byte-order mark is a character of its own, never part of a word
    doc, split = split_tokens_at(make_doc(text), boundaries, text)
    doc.user_data[DOC_ID_KEY] = doc_id
    doc.ents = char_spans(doc, ents)
    doc.spans[BRAT_SPANS_KEY] = SpanGroup(doc, name=BRAT_SPANS_KEY, spans=char_spans(doc, spans))
    sentencizer(doc)
    return doc, split
