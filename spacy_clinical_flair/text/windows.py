"""Cross-sentence context windows for spacy-transformers, as CLIN-X feeds its transformer.

``clinical_flair.sentence_windows.v1`` (a spacy-transformers span getter, registered through the
``spacy_span_getters`` entry point) cuts each Doc into *cores*: runs of whole consecutive sentences of at
most ``max_tokens // 2`` tokens (a longer sentence is cut into pieces of that size). Each core becomes one
window, widened with the neighbouring sentences of the same Doc, alternately before and after, while the
window stays within ``max_tokens`` spaCy tokens. Every token lies in its core's window; spacy-transformers
averages the outputs of tokens that several windows hold. A window is a Span of one Doc, so no window ever
crosses from one document into the next. Docs without sentence boundaries are treated as one sentence.
"""
from __future__ import annotations

from typing import Callable, Iterable, List, Tuple

from spacy.tokens import Doc, Span

Piece = Tuple[int, int]


def sentence_pieces(doc: Doc, longest: int) -> List[Piece]:
    """The Doc's sentences as token ranges, each cut into pieces of at most ``longest`` tokens."""
    sentences = [(s.start, s.end) for s in doc.sents] if doc.has_annotation("SENT_START") else [(0, len(doc))]
    pieces: List[Piece] = []
    for start, end in sentences:
        pieces.extend((i, min(i + longest, end)) for i in range(start, end, longest))
    return pieces


def doc_windows(doc: Doc, max_tokens: int) -> List[Span]:
    """The windows of one Doc (see the module docstring)."""
    if len(doc) == 0:
        return []
    core_tokens = max(1, max_tokens // 2)
    pieces = sentence_pieces(doc, core_tokens)
    windows: List[Span] = []
    first = 0
    while first < len(pieces):
        last = first  # the core: pieces[first..last]
        while last + 1 < len(pieces) and pieces[last + 1][1] - pieces[first][0] <= core_tokens:
            last += 1
        left, right = first, last
        grew = True
        while grew:
            grew = False
            if left > 0 and pieces[right][1] - pieces[left - 1][0] <= max_tokens:
                left, grew = left - 1, True
            if right + 1 < len(pieces) and pieces[right + 1][1] - pieces[left][0] <= max_tokens:
                right, grew = right + 1, True
        window = doc[pieces[left][0]:pieces[right][1]]
        if not windows or (window.start, window.end) != (windows[-1].start, windows[-1].end):
            windows.append(window)  # neighbouring cores can widen to the same window: compute it once
        first = last + 1
    return windows


def sentence_windows(docs: Iterable[Doc], max_tokens: int) -> List[List[Span]]:
    """The windows of each Doc."""
    return [doc_windows(doc, max_tokens) for doc in docs]


def configure_sentence_windows(max_tokens: int = 128) -> Callable[[Iterable[Doc]], List[List[Span]]]:
    """Span getter ``clinical_flair.sentence_windows.v1``: windows of at most ``max_tokens`` spaCy tokens
    (keep them within the transformer's limit in word pieces, usually 512: about 1.5-2 pieces per token)."""
    if max_tokens < 2:
        raise ValueError(f"max_tokens must be at least 2, got {max_tokens}")

    def get_windows(docs: Iterable[Doc]) -> List[List[Span]]:
        return sentence_windows(docs, max_tokens)

    return get_windows
