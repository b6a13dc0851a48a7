"""From a BRAT document to a spaCy Doc whose tokens align exactly with every entity.

The text is tokenised by the pipeline's tokenizer; wherever an entity edge falls inside a
token, the token is split there (and counted). ``doc.ents`` gets the flattened entities,
``doc.spans["brat"]`` every original entity (fragments share the entity's label and carry its
BRAT id as ``span.id_``), ``doc.user_data["doc_id"]`` the document id, ``doc.user_data["brat_notes"]``
the ``#`` notes and ``N`` normalisations of the entities (read through ``span._.brat_notes`` and
``span._.brat_normalizations``; the code they give is each span's ``kb_id_``), and sentence boundaries
come from :class:`~spacy_clinical_flair.text.sentences.ClinicalSentencizer`. :func:`read_docbin` is the one
reader of ``.spacy`` files that the CLI and the training code share.
"""
from __future__ import annotations

import bisect
import os
import re
import warnings
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.attrs import IDX, LENGTH, SPACY
from spacy.tokens import Doc, Span, SpanGroup

from .brat import NORMALIZATION, NOTE, BratNote
from .flatten import FlatSpan

#: The span group that keeps every original BRAT entity.
#: A file or folder path, as the public functions take it.
PathLike = Union[str, "os.PathLike[str]"]

BRAT_SPANS_KEY = "brat"
#: ``doc.user_data`` key of the document id (the ``.txt`` path relative to the corpus folder).
DOC_ID_KEY = "doc_id"
#: ``doc.user_data`` key of the entities' ``#`` and ``N`` lines (a list of :meth:`BratNote.to_dict` records).
NOTES_KEY = "brat_notes"
#: A note that is a code (``8000/3``, ``387713003``, ``ICD10:C50.9``): one word with a digit and no spaces.
_CODE_NOTE = re.compile(r"^[\w./:+-]*\d[\w./:+-]*$")


def doc_notes(doc: Doc) -> List[BratNote]:
    """The ``#`` notes and ``N`` normalisations a Doc carries from its BRAT file, in file order."""
    return [BratNote.from_dict(record) for record in doc.user_data.get(NOTES_KEY, [])]


def span_notes(span: Span, kind: str = NOTE) -> List[str]:
    """The texts of ``span``'s notes (``kind="note"``) or the references of its normalisations.

    Looked up by the span's BRAT id (``span.id_``), so every fragment of an entity has them; a span
    without an id (a prediction) has none. The getter of ``span._.brat_notes`` / ``span._.brat_normalizations``.
    """
    if not span.id_:
        return []
    return [(note.reference if kind == NORMALIZATION else note.text or "")
            for note in doc_notes(span.doc) if note.target == span.id_ and note.kind == kind]


def kb_id_from_notes(notes: Sequence[BratNote]) -> str:
    """The code an entity's lines give: its first ``N`` reference, else its first note that is a code."""
    for note in notes:
        if note.kind == NORMALIZATION:
            return note.reference
    for note in notes:
        if note.text is not None and _CODE_NOTE.match(note.text.strip()):
            return note.text.strip()
    return ""


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
    dropped = _drop_odd_user_data(docbin)
    if dropped:
        warnings.warn(f"{path}: {dropped} Doc(s) had user_data that is not a dictionary; it was left out (their "
                      "doc_id too)", stacklevel=2)
    return docbin.get_docs(spacy.blank(lang).vocab)


def _drop_odd_user_data(docbin) -> int:
    """Replace each Doc's stored user_data that is not a msgpack dictionary (``DocBin.get_docs`` would fail on
    it) by an empty one; how many were replaced. ``None`` (a DocBin saved without user data) is no user data."""
    import srsly

    empty, dropped = srsly.msgpack_dumps({}), 0
    for index, data in enumerate(docbin.user_data):
        if data is None:
            continue
        try:
            ok = isinstance(srsly.msgpack_loads(data, use_list=False), dict)
        except Exception:
            ok = False
        if not ok:
            docbin.user_data[index] = empty
            dropped += 1
    return dropped


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


def char_spans(doc: Doc, spans: Sequence[FlatSpan], kb_ids: Optional[Dict[str, str]] = None) -> List[Span]:
    """spaCy spans for character spans that are known to align with token edges.

    ``kb_ids`` maps an entity id to the code its spans get as ``kb_id_``."""
    kb_ids = kb_ids or {}
    result = []
    for span in spans:
        aligned = doc.char_span(span.start, span.end, label=span.label, span_id=span.entity_id,
                                kb_id=kb_ids.get(span.entity_id, ""))
        if aligned is None:
            raise ValueError(
                f"span {span.start}-{span.end} ({span.label}) does not align with the tokens of "
                f"{doc.user_data.get(DOC_ID_KEY, 'the document')}; split the tokens at its edges first")
        result.append(aligned)
    return result


def kept_notes(notes: Sequence[BratNote], spans: Sequence[FlatSpan]) -> List[BratNote]:
    """The notes whose entity has a span (an entity dropped as whitespace-only takes its notes with it)."""
    ids = {span.entity_id for span in spans}
    return [note for note in notes if note.target in ids]


def build_doc(
    make_doc: Callable[[str], Doc],
    text: str,
    ents: Sequence[FlatSpan],
    spans: Sequence[FlatSpan],
    doc_id: str,
    sentencizer: Callable[[Doc], Doc],
    notes: Sequence[BratNote] = (),
) -> Tuple[Doc, int]:
    """Tokenise ``text``, align it to all spans, and set ents, span group, notes, id and sentences.

    ``notes`` on entities without a span are not kept (the caller counts them). Returns the Doc and the
    number of tokenizer tokens that had to be split.
    """
    boundaries = {offset for span in (*ents, *spans) for offset in (span.start, span.end)}
    if text.startswith("\ufeff") and len(text) > 1:
        boundaries.add(1)  # a byte-order mark is a character of its own, never part of a word
    doc, split = split_tokens_at(make_doc(text), boundaries, text)
    doc.user_data[DOC_ID_KEY] = doc_id
    kept = kept_notes(notes, spans)
    if kept:
        doc.user_data[NOTES_KEY] = [note.to_dict() for note in kept]
    kb_ids = {span.entity_id: kb_id_from_notes([n for n in kept if n.target == span.entity_id]) for span in spans}
    doc.ents = char_spans(doc, ents, kb_ids)
    doc.spans[BRAT_SPANS_KEY] = SpanGroup(doc, name=BRAT_SPANS_KEY, spans=char_spans(doc, spans, kb_ids))
    sentencizer(doc)
    return doc, split
