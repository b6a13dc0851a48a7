"""``clinical_flair_ner_recall``: PHI the NER nearly found, for de-identification.

spaCy's transition-based ``ner`` parses greedily: one sequence of moves, one set of entities. Its beam search
(:meth:`spacy.pipeline.EntityRecognizer.beam_parse`) keeps the ``beam_width`` best parses instead, and
:meth:`~spacy.pipeline.EntityRecognizer.scored_ents` sums, for each entity, the probability of the parses that
hold it. An entity of probability at least ``threshold`` that overlaps no entity of ``doc.ents`` is one the model
thought likely but did not choose: for de-identification, where a missed name costs more than a replaced word,
it is worth replacing. This component writes such entities to ``doc.spans["phi_recall"]`` (``doc.ents`` stays as
it is, so the NER's scores are untouched); :func:`~.component.deidentify_doc` replaces them with the entities.

Placed after the ``ner`` it reads (whose ``tok2vec`` listener then finds the document's vectors in
``doc.tensor``); the beam reruns only the NER's small state model, not the LMs.
"""
from __future__ import annotations

from typing import Dict, Iterable, Iterator, List, Sequence, Tuple

from spacy.attrs import ENT_ID, ENT_IOB, ENT_KB_ID, ENT_TYPE
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from .spans import claim

#: The span group the component writes and de-identification reads.
RECALL_SPANS_KEY = "phi_recall"
NER_RECALL_DEFAULTS: Dict[str, object] = {"ner": "ner", "beam_width": 8, "threshold": 0.3}

#: The token attributes that hold a Doc's entities.
ENT_ATTRS = [ENT_IOB, ENT_TYPE, ENT_KB_ID, ENT_ID]
#: A beam entity: (first token, end token, label) and the probability of the parses holding it.
ScoredEntities = Dict[Tuple[int, int, str], float]


def beam_entities(ner, docs: Sequence[Doc], beam_width: int, free: bool = True) -> List[ScoredEntities]:
    """For each Doc, every entity of ``ner``'s ``beam_width`` best parses with its probability. ``free``: the
    parses are not bound by the entities already on the Docs (spaCy's NER keeps preset entities; they are
    cleared for the beam and put back after it, as they were); else they are."""
    if not docs:
        return []
    saved = [doc.to_array(ENT_ATTRS) for doc in docs] if free else []
    try:
        for doc in docs if free else []:
            doc.set_ents([], default="missing")
        return [dict(scores) for scores in ner.scored_ents(ner.beam_parse(list(docs), beam_width=beam_width))]
    finally:
        for doc, annotation in zip(docs, saved):
            doc.from_array(ENT_ATTRS, annotation)  # type: ignore[arg-type]


def select_likely(taken: Iterable[Tuple[int, int]], scores: ScoredEntities, threshold: float
                  ) -> List[Tuple[int, int, str]]:
    """The entities of ``scores`` of probability at least ``threshold`` that overlap no span of ``taken`` nor a
    more likely one of them (ties: the earlier first), sorted. Offsets in tokens or in characters alike."""
    claimed = sorted(taken)
    chosen: List[Tuple[int, int, str]] = []
    for (start, end, label), probability in sorted(scores.items(), key=lambda item: (-item[1], item[0])):
        if probability < threshold:
            break
        if claim(start, end, claimed):
            chosen.append((start, end, label))
    return sorted(chosen)


def likely_missed(doc: Doc, scores: ScoredEntities, threshold: float) -> List[Span]:
    """:func:`select_likely` with ``doc.ents`` taken, as Spans of ``doc``."""
    likely = select_likely([(ent.start, ent.end) for ent in doc.ents], scores, threshold)
    return [Span(doc, start, end, label=label) for start, end, label in likely]


class NerRecall:
    """Writes :func:`likely_missed` entities of the pipeline's ``ner`` to ``doc.spans["phi_recall"]``."""

    def __init__(self, nlp: Language, name: str, ner: str, beam_width: int, threshold: float) -> None:
        if beam_width < 2:
            raise ValueError(f"beam_width must be at least 2 (a beam of 1 is the greedy parse), not {beam_width}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be a probability in (0, 1], not {threshold}")
        self.nlp, self.name, self.ner_name = nlp, name, ner
        self.beam_width, self.threshold = beam_width, threshold

    def _ner(self):
        if self.ner_name not in self.nlp.pipe_names:
            raise ValueError(f"{self.name} reads the beam of the component {self.ner_name!r}, which the pipeline "
                             f"does not have (it has {', '.join(self.nlp.pipe_names)}): set its 'ner' to the name "
                             "of a spaCy 'ner' component placed before it")
        ner = self.nlp.get_pipe(self.ner_name)
        if not hasattr(ner, "beam_parse") or not hasattr(ner, "scored_ents"):
            raise ValueError(f"{self.ner_name!r} is not a spaCy 'ner' (transition-based) component: it has no beam "
                             "to read; remove this component (a clinical_flair_ner tagger has no beam)")
        return ner

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 32) -> Iterator[Doc]:
        ner = self._ner()
        for batch in minibatch(docs, size=batch_size):
            for doc, scores in zip(batch, beam_entities(ner, batch, self.beam_width)):
                doc.spans[RECALL_SPANS_KEY] = likely_missed(doc, scores, self.threshold)
                yield doc


def make_ner_recall(nlp: Language, name: str, ner: str, beam_width: int, threshold: float) -> NerRecall:
    """The ``clinical_flair_ner_recall`` factory (registered in :mod:`spacy_clinical_flair.registrations`)."""
    return NerRecall(nlp, name, ner, beam_width, threshold)
