"""Is one system's strict F1 really better than another's? A paired bootstrap over test documents.

Both systems' predictions on the same gold documents are reduced to per-document counts of strict matches
(same start and end character, same label), predicted and gold entities. Each of ``samples`` resamples draws
the documents with replacement, the same draw for both systems (paired), and recomputes micro F1 for each;
the 2.5th and 97.5th percentiles of the F1 differences are the 95% interval. ``p`` is the two-sided
bootstrap p-value of "no difference": the share of resamples whose difference, centred on the observed
one, is at least as far from 0 as the observed difference (Efron & Tibshirani 1993, sec. 16.4; the paired
form for NLP: Berg-Kirkpatrick et al. 2012).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, Iterable, List, Sequence, Set

import numpy
from spacy.tokens import Doc

from .strict import Entity, entity_set, prf_from_counts


@dataclass
class PairedBootstrap:
    """Strict micro F1 of two systems, their difference (``a - b``), its 95% interval and p-value."""

    documents: int
    samples: int
    f1_a: float
    f1_b: float
    difference: float
    low: float
    high: float
    p_value: float

    @property
    def significant(self) -> bool:
        """The 95% interval excludes 0."""
        return self.low > 0 or self.high < 0

    def to_dict(self) -> Dict[str, float]:
        """The fields and ``significant``, for JSON."""
        return {**asdict(self), "significant": self.significant}

    def summary(self, name_a: str = "A", name_b: str = "B") -> str:
        """One line: both F1, the difference with its interval, and p."""
        return (f"{name_a} F1 {self.f1_a:.4f}, {name_b} F1 {self.f1_b:.4f}: difference {self.difference:+.4f} "
                f"(95% CI {self.low:+.4f} to {self.high:+.4f}, p = {self.p_value:.4f}, {self.documents} documents, "
                f"{self.samples} resamples)")


def document_counts(gold: Sequence[Set[Entity]], predicted: Sequence[Set[Entity]]) -> numpy.ndarray:
    """Per document: [strict matches, predicted entities, gold entities], shape (documents, 3)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold documents but {len(predicted)} predicted ones")
    return numpy.array([[len(g & p), len(p), len(g)] for g, p in zip(gold, predicted)], dtype=numpy.int64)


def micro_f1(counts: numpy.ndarray) -> numpy.ndarray:
    """Micro F1 of summed counts (last axis: matches, predicted, gold); 0 where nothing was predicted or gold:
    :func:`.strict.prf_from_counts`'s F1 over arrays of resamples at once."""
    matches, predicted, gold = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = predicted + gold
    return numpy.divide(2.0 * matches, denominator, out=numpy.zeros(matches.shape), where=denominator > 0)


def strict_scores(gold: Sequence[Doc], predicted: Sequence[Doc]) -> Dict[str, float]:
    """Strict micro ``p``, ``r`` and ``f`` of predicted Docs against gold Docs (in order), from the per-document
    counts that :func:`paired_bootstrap` resamples."""
    counts = document_counts([entity_set(d) for d in gold], [entity_set(d) for d in predicted]).sum(0)
    return prf_from_counts(*(int(c) for c in counts))


def paired_bootstrap(counts_a: numpy.ndarray, counts_b: numpy.ndarray, samples: int = 10_000,
                     seed: int = 0, batch: int = 1_000) -> PairedBootstrap:
    """The paired bootstrap of the module docstring over per-document counts (:func:`document_counts`)."""
    counts_a, counts_b = numpy.asarray(counts_a), numpy.asarray(counts_b)
    if counts_a.shape != counts_b.shape or counts_a.ndim != 2 or counts_a.shape[1] != 3:
        raise ValueError(f"both systems need (documents, 3) counts of the same documents, not "
                         f"{counts_a.shape} and {counts_b.shape}")
    n = len(counts_a)
    if n == 0:
        raise ValueError("no documents to resample")
    if samples < 1:
        raise ValueError(f"samples must be at least 1, not {samples}")
    observed = float(micro_f1(counts_a.sum(0)) - micro_f1(counts_b.sum(0)))
    rng = numpy.random.default_rng(seed)
    differences: List[numpy.ndarray] = []
    for start in range(0, samples, batch):
        draw = rng.integers(0, n, size=(min(batch, samples - start), n))
        differences.append(micro_f1(counts_a[draw].sum(1)) - micro_f1(counts_b[draw].sum(1)))
    diffs = numpy.concatenate(differences)
    low, high = numpy.percentile(diffs, [2.5, 97.5])
    p_value = float(numpy.mean(numpy.abs(diffs - observed) >= abs(observed) - 1e-12)) if observed else 1.0
    return PairedBootstrap(n, samples, float(micro_f1(counts_a.sum(0))), float(micro_f1(counts_b.sum(0))),
                           observed, float(low), float(high), p_value)


def compare_docs(gold: Iterable[Doc], predicted_a: Iterable[Doc], predicted_b: Iterable[Doc],
                 samples: int = 10_000, seed: int = 0) -> PairedBootstrap:
    """:func:`paired_bootstrap` of two systems' predicted Docs against the gold Docs, matched in order;
    the texts must be the same document for document."""
    gold, predicted_a, predicted_b = list(gold), list(predicted_a), list(predicted_b)
    for name, docs in (("A", predicted_a), ("B", predicted_b)):
        if len(docs) != len(gold):
            raise ValueError(f"system {name} has {len(docs)} documents, the gold file {len(gold)}")
        for i, (g, p) in enumerate(zip(gold, docs)):
            if g.text != p.text:
                raise ValueError(f"document {i} of system {name} is not the gold document's text "
                                 "(predictions must be of the gold file's documents, in its order)")
    gold_sets = [entity_set(doc) for doc in gold]
    return paired_bootstrap(document_counts(gold_sets, [entity_set(d) for d in predicted_a]),
                            document_counts(gold_sets, [entity_set(d) for d in predicted_b]), samples, seed)
