"""Error classes and lenient scores of an NER, as shared tasks and papers report them.

Each predicted and gold entity gets one class (the SemEval-2013 scheme that ``nervaluate`` implements),
pairing gold and predicted entities one to one, best match first:

- ``correct``: same boundaries, same label;
- ``wrong_label``: same boundaries, another label;
- ``wrong_boundary``: overlapping, same label, other boundaries;
- ``wrong_both``: overlapping, another label and other boundaries;
- ``missed``: a gold entity no prediction was paired with;
- ``spurious``: a prediction no gold entity was paired with.

Counts are kept per label: the gold entity's label, and the prediction's for ``spurious``. **Strict** P/R/F
count ``correct`` only (spaCy's ``ents_f``); **lenient** (overlap) P/R/F count ``correct`` and
``wrong_boundary``: a prediction that overlaps a gold entity of its label. :func:`score_ner_errors` is the
registered scorer ``clinical_flair.ner_scorer.v1``: spaCy's NER scores plus ``ents_lenient_p/r/f`` (usable in
``[training.score_weights]``) and ``ents_errors``.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.scorer import get_ner_prf
from spacy.training import Example

from .strict import Entity, entities, prf_from_counts

CORRECT, WRONG_LABEL, WRONG_BOUNDARY, WRONG_BOTH = "correct", "wrong_label", "wrong_boundary", "wrong_both"
MISSED, SPURIOUS = "missed", "spurious"
ERROR_CLASSES = (CORRECT, WRONG_LABEL, WRONG_BOUNDARY, WRONG_BOTH, MISSED, SPURIOUS)
ALL = "ALL"
#: One classified pair: (class, gold entity or None, predicted entity or None).
Outcome = Tuple[str, Optional[Entity], Optional[Entity]]


def _overlaps(a: Entity, b: Entity) -> bool:
    return a[0] < b[1] and b[0] < a[1]


#: The pairing passes, best first: (class, the test a gold/predicted pair must pass).
_PASSES: Tuple[Tuple[str, Callable[[Entity, Entity], bool]], ...] = (
    (CORRECT, lambda g, p: g == p),
    (WRONG_LABEL, lambda g, p: g[:2] == p[:2]),
    (WRONG_BOUNDARY, lambda g, p: g[2] == p[2] and _overlaps(g, p)),
    (WRONG_BOTH, _overlaps),
)


def classify(gold: Sequence[Entity], predicted: Sequence[Entity]) -> List[Outcome]:
    """Pair one document's gold and predicted entities one to one and give each pair or leftover its class."""
    gold_left = sorted(set(gold))
    predicted_left = sorted(set(predicted))
    outcomes: List[Outcome] = []
    for name, test in _PASSES:
        for g in list(gold_left):
            match = next((p for p in predicted_left if test(g, p)), None)
            if match is not None:
                outcomes.append((name, g, match))
                gold_left.remove(g)
                predicted_left.remove(match)
    outcomes += [(MISSED, g, None) for g in gold_left]
    outcomes += [(SPURIOUS, None, p) for p in predicted_left]
    return outcomes


def count_outcomes(outcomes: Iterable[Outcome]) -> Dict[str, Counter]:
    """Counts of each class per label (gold label; the prediction's for spurious), and over all labels (``ALL``)."""
    counts: Dict[str, Counter] = {ALL: Counter({name: 0 for name in ERROR_CLASSES})}
    for name, g, p in outcomes:
        label = (g or p)[2]  # type: ignore[index]
        counts.setdefault(label, Counter({n: 0 for n in ERROR_CLASSES}))[name] += 1
        counts[ALL][name] += 1
    return counts


def prf(counts: Counter, lenient: bool) -> Dict[str, float]:
    """P/R/F from one label's class counts: strict counts ``correct``, lenient also ``wrong_boundary``."""
    hits = counts[CORRECT] + (counts[WRONG_BOUNDARY] if lenient else 0)
    predicted = sum(counts[name] for name in ERROR_CLASSES if name != MISSED)
    gold = sum(counts[name] for name in ERROR_CLASSES if name != SPURIOUS)
    return prf_from_counts(hits, predicted, gold)


def error_counts(pairs: Iterable[Tuple[Sequence[Entity], Sequence[Entity]]]) -> Dict[str, Counter]:
    """Class counts over many documents, each given as (gold entities, predicted entities)."""
    total: Dict[str, Counter] = {ALL: Counter({name: 0 for name in ERROR_CLASSES})}
    for gold, predicted in pairs:
        for label, counts in count_outcomes(classify(gold, predicted)).items():
            total.setdefault(label, Counter({n: 0 for n in ERROR_CLASSES})).update(counts)
    return total


def score_ner_errors(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """spaCy's NER scores (``ents_p/r/f``, ``ents_per_type``) plus lenient P/R/F and the error classes.

    Added keys: ``ents_lenient_p``, ``ents_lenient_r``, ``ents_lenient_f``, ``ents_lenient_per_type``
    ({label: {p, r, f}}) and ``ents_errors`` ({label or "ALL": {class: count}}).
    """
    examples = list(examples)
    scores: Dict[str, Any] = dict(get_ner_prf(examples, **kwargs))
    counts = error_counts((entities(eg.reference), entities(eg.predicted)) for eg in examples)
    lenient = prf(counts[ALL], lenient=True)
    scores.update({"ents_lenient_p": lenient["p"], "ents_lenient_r": lenient["r"], "ents_lenient_f": lenient["f"]})
    scores["ents_lenient_per_type"] = {label: prf(c, lenient=True) for label, c in sorted(counts.items()) if label != ALL}
    scores["ents_errors"] = {label: dict(c) for label, c in sorted(counts.items())}
    return scores


def make_ner_error_scorer() -> Callable[..., Dict[str, Any]]:
    """The ``clinical_flair.ner_scorer.v1`` scorer: ``[components.ner.scorer] @scorers = "clinical_flair.ner_scorer.v1"``."""
    return score_ner_errors
