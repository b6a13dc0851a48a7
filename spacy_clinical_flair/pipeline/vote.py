"""Voting across different NER systems in one pipeline.

``clinical_flair_copy_ents`` copies ``doc.ents`` (e.g. what spaCy's ``ner`` or a transformer NER just wrote)
into a span group of its own and can clear ``doc.ents`` for the next system; ``clinical_flair_ner`` writes its
predictions to a group itself (``spans_key``). ``clinical_flair_vote`` then keeps an entity when at least
``min_votes`` of the named span groups hold exactly it (same tokens, same label; default: a strict majority),
with :func:`spacy_clinical_flair.pipeline.ensemble.vote`, and writes the winners to ``doc.ents``
(``clinical_flair_union_ents`` instead joins the groups of heads for different types)::

    ner (spaCy)           -> clinical_flair_copy_ents {spans_key: "spacy", clear_ents: true}
    clinical_flair_ner    -> spans_key "flair", ents_policy "replace"  (then copy_ents clears, or policy keeps)
    clinical_flair_vote   {spans_keys: ["spacy", "flair", "transformer"]}

A span's score is its group's ``attrs["scores"]`` entry where the group has scores, else 1.0.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Literal, Optional, Sequence

from spacy.language import Language
from spacy.pipeline.span_ruler import prioritize_existing_ents_filter
from spacy.tokens import Doc, Span, SpanGroup

from .ensemble import Prediction, vote

VOTE_SCORES_ATTR = "scores"


class CopyEnts:
    """Copy ``doc.ents`` into ``doc.spans[spans_key]`` (and optionally clear ``doc.ents``)."""

    def __init__(self, name: str, spans_key: str, clear_ents: bool) -> None:
        self.name, self.spans_key, self.clear_ents = name, spans_key, clear_ents

    def __call__(self, doc: Doc) -> Doc:
        doc.spans[self.spans_key] = SpanGroup(doc, name=self.spans_key, spans=list(doc.ents))
        if self.clear_ents:
            doc.ents = []
        return doc


def make_copy_ents(nlp: Language, name: str, spans_key: str, clear_ents: bool) -> CopyEnts:
    """spaCy factory for :class:`CopyEnts`."""
    return CopyEnts(name, spans_key, clear_ents)


class VoteEnts:
    """Majority vote over the entities in several span groups, written to ``doc.ents``."""

    def __init__(self, name: str, spans_keys: Sequence[str], min_votes: int, ents_policy: str,
                 scorer: Optional[Callable]) -> None:
        if len(spans_keys) < 2:
            raise ValueError(f"'{name}' needs the span groups of at least 2 systems, got {list(spans_keys)}")
        if not 0 <= min_votes <= len(spans_keys):
            raise ValueError(f"min_votes must be 0 (a strict majority) to {len(spans_keys)}, got {min_votes}")
        self.name, self.spans_keys, self.min_votes = name, list(spans_keys), min_votes
        self.ents_policy, self.scorer = ents_policy, scorer

    def __call__(self, doc: Doc) -> Doc:
        missing = [key for key in self.spans_keys if key not in doc.spans]
        if missing:
            raise ValueError(f"'{self.name}': the Doc has no span group {missing[0]!r}; put the component that writes "
                             f"it (e.g. clinical_flair_copy_ents with spans_key {missing[0]!r}) before '{self.name}'")
        winners = vote([group_predictions(doc.spans[key]) for key in self.spans_keys], self.min_votes or None)
        spans = [Span(doc, start, end, label=label) for start, end, label, _ in winners]
        doc.ents = spans if self.ents_policy == "replace" else prioritize_existing_ents_filter(doc.ents, spans)
        return doc

    def score(self, examples, **kwargs) -> Dict[str, float]:
        return self.scorer(examples, **kwargs) if self.scorer else {}


class UnionEnts:
    """``doc.ents`` from several span groups that may overlap (heads for different entity types): every span of the
    groups, overlaps resolved by spaCy's ``filter_spans`` (the longest span wins; of equal lengths, the one that
    starts first). The groups keep every span, overlapping ones included."""

    def __init__(self, name: str, spans_keys: Sequence[str]) -> None:
        if not spans_keys:
            raise ValueError(f"'{name}' needs the span groups to join, e.g. spans_keys = [\"drugs\", \"symptoms\"]")
        self.name, self.spans_keys = name, list(spans_keys)

    def __call__(self, doc: Doc) -> Doc:
        from spacy.util import filter_spans

        missing = [key for key in self.spans_keys if key not in doc.spans]
        if missing:
            raise ValueError(f"'{self.name}': the Doc has no span group {missing[0]!r}; put the component that writes "
                             f"it (e.g. clinical_flair_copy_ents with spans_key {missing[0]!r}) before '{self.name}'")
        doc.ents = filter_spans([span for key in self.spans_keys for span in doc.spans[key]])
        return doc


def make_union_ents(nlp: Language, name: str, spans_keys: List[str]) -> UnionEnts:
    """spaCy factory for :class:`UnionEnts`."""
    return UnionEnts(name, spans_keys)


def group_predictions(group: SpanGroup) -> List[Prediction]:
    """A span group as ensemble predictions ``(start, end, label, score)``."""
    scores = group.attrs.get(VOTE_SCORES_ATTR)
    return [(span.start, span.end, span.label_, float(scores[i]) if scores is not None else 1.0)
            for i, span in enumerate(group)]


def make_vote(nlp: Language, name: str, spans_keys: List[str], min_votes: int,
              ents_policy: Literal["replace", "keep"], scorer: Optional[Callable]) -> VoteEnts:
    """spaCy factory for :class:`VoteEnts`."""
    return VoteEnts(name, spans_keys, min_votes, ents_policy, scorer)
