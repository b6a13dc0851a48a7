"""spaCy Docs → BRAT standoff (``.txt`` + ``.ann`` per Doc), e.g. predictions for annotators."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span

from .brat import Fragment, Problem, write_brat_document
from .docs import DOC_ID_KEY, PathLike
from .names import UniqueNames

BratEntityTriple = Tuple[str, str, List[Fragment]]

_BRAT_ID = re.compile(r"^T\S*$")


@dataclass
class ExportReport:
    """What :func:`export_docs_to_brat` wrote."""

    documents: int = 0
    entities: int = 0
    problems: List[Problem] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"documents written  {self.documents}", f"entities written   {self.entities}"]
        lines.extend(f"problem: {problem}" for problem in self.problems)
        return "\n".join(lines)


def _assign_ids(groups: Sequence[Tuple[str, str, List[Fragment]]]) -> List[BratEntityTriple]:
    """Keep BRAT-looking ids that are unique; number the rest ``T1``, ``T2``... without clashes."""
    wanted = [entity_id for entity_id, _, _ in groups]
    counts: Dict[str, int] = {}
    for entity_id in wanted:
        counts[entity_id] = counts.get(entity_id, 0) + 1
    used = {entity_id for entity_id in wanted if _BRAT_ID.match(entity_id) and counts[entity_id] == 1}
    next_number = 1
    result = []
    for entity_id, label, fragments in groups:
        if entity_id not in used:
            while f"T{next_number}" in used:
                next_number += 1
            entity_id = f"T{next_number}"
            used.add(entity_id)
        result.append((entity_id, label, fragments))
    return result


def doc_brat_entities(doc: Doc, spans_key: Optional[str] = None) -> List[BratEntityTriple]:
    """The BRAT entities of a Doc: ``doc.ents`` by default, or a span group.

    In a span group, spans sharing a non-empty ``span.id_`` (as written by the converter for
    the fragments of a discontinuous entity) become one discontinuous entity again.
    """
    if spans_key is None:
        return [(f"T{number}", ent.label_, [(ent.start_char, ent.end_char)])
                for number, ent in enumerate(doc.ents, start=1)]
    if spans_key not in doc.spans:
        return []
    grouped: Dict[Tuple[str, str], List[Span]] = {}
    order: List[Tuple[str, str]] = []
    for position, span in enumerate(doc.spans[spans_key]):
        key = (span.id_ or f"\0{position}", span.label_)
        if key not in grouped:
            grouped[key] = []
            order.append(key)
        grouped[key].append(span)
    groups = []
    for key in order:
        fragments = sorted((span.start_char, span.end_char) for span in grouped[key])
        groups.append((key[0] if not key[0].startswith("\0") else "", key[1], fragments))
    return _assign_ids(groups)


def export_docs_to_brat(docs: Iterable[Doc], folder: PathLike, spans_key: Optional[str] = None) -> ExportReport:
    """Write one ``.txt``/``.ann`` pair per Doc under ``folder``, named by ``doc.user_data["doc_id"]``
    (:class:`~.names.UniqueNames`: an unsafe or repeated id gets a numbered name, reported)."""
    report = ExportReport()
    names = UniqueNames()
    for index, doc in enumerate(docs):
        doc_id, why = names.name(doc.user_data.get(DOC_ID_KEY), f"doc{index:05d}")
        if why:
            report.problems.append(Problem("doc_id", doc_id, None, why))
        if spans_key is not None and spans_key not in doc.spans:
            report.problems.append(Problem("missing_span_group", doc_id, None,
                                           f"the Doc has no span group {spans_key!r}: its .ann was written empty"))
        entities = doc_brat_entities(doc, spans_key)
        try:
            write_brat_document(Path(folder), doc_id, doc.text, entities)
        except OSError as err:
            report.problems.append(Problem("write_failed", doc_id, None, f"not written: {err}"))
            continue
        report.documents += 1
        report.entities += len(entities)
    return report
