"""Strict entity matching, defined once: an entity is (start_char, end_char, label), and a predicted entity is
right only when all three equal a gold one's. The error classes (:mod:`.errors`), the paired bootstrap
(:mod:`.significance`) and the benchmarks score with these. spaCy's own ``ents_p/r/f`` (its ``Scorer``, kept in
the scores of a pipeline for ``spacy train`` and ``spacy evaluate``) compare token spans, which is the same
thing on Docs whose entities fall on token edges, as every Doc of this package's converters does."""
from __future__ import annotations

from typing import Dict, List, Set, Tuple

from spacy.tokens import Doc

#: (start_char, end_char, label)
Entity = Tuple[int, int, str]


def entities(doc: Doc) -> List[Entity]:
    """``doc.ents`` as (start_char, end_char, label), in order."""
    return [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]


def entity_set(doc: Doc) -> Set[Entity]:
    """``doc.ents`` as a set of (start_char, end_char, label)."""
    return set(entities(doc))


def prf_from_counts(matches: int, predicted: int, gold: int) -> Dict[str, float]:
    """Precision, recall and F1 (``p``, ``r``, ``f``) from counts of matches (strict, or lenient ones), predicted and gold
    entities; each is 0.0 where its denominator is 0."""
    p = matches / predicted if predicted else 0.0
    r = matches / gold if gold else 0.0
    return {"p": p, "r": r, "f": 2 * matches / (predicted + gold) if predicted + gold else 0.0}
