"""spaCy Docs → BRAT standoff (``.txt`` + ``.ann`` per Doc), e.g. predictions for annotators.

Entities keep their BRAT ids (``span.id_``) where those are unique, and the ``#`` notes and ``N``
normalisations the converter kept (``doc.user_data["brat_notes"]``) go back out on the same entities. An
entity with a ``kb_id_`` but no such lines (e.g. from an entity linker) gets an ``N`` line
``Reference T<n> <kb_id_>``.
"""
from __future__ import annotations

import errno
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span

from .brat import NORMALIZATION, BratNote, Fragment, Problem, write_brat_document
from .docs import DOC_ID_KEY, PathLike, doc_notes
from .names import UniqueNames
from .safe_files import UnsafeOutput

BratEntityTriple = Tuple[str, str, List[Fragment]]

_BRAT_ID = re.compile(r"^T\S*$")
#: One entity before its id is assigned: (id_ as found, label, fragments, kb_id_).
_Group = Tuple[str, str, List[Fragment], str]


@dataclass
class ExportReport:
    """What :func:`export_docs_to_brat` wrote."""

    documents: int = 0
    entities: int = 0
    notes: int = 0
    problems: List[Problem] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"documents written  {self.documents}", f"entities written   {self.entities}",
                 f"notes written      {self.notes} (# and N lines)"]
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


def _entity_groups(doc: Doc, spans_key: Optional[str]) -> List[_Group]:
    """The Doc's entities with the ids they carry (``""`` for none)."""
    if spans_key is None:
        return [(ent.id_, ent.label_, [(ent.start_char, ent.end_char)], ent.kb_id_) for ent in doc.ents]
    if spans_key not in doc.spans:
        return []
    grouped: Dict[Tuple[str, str], List[Span]] = {}
    for position, span in enumerate(doc.spans[spans_key]):
        grouped.setdefault((span.id_ or f"\0{position}", span.label_), []).append(span)
    return [(entity_id if not entity_id.startswith("\0") else "", label,
             sorted((span.start_char, span.end_char) for span in spans), spans[0].kb_id_)
            for (entity_id, label), spans in grouped.items()]


def doc_brat_entities(doc: Doc, spans_key: Optional[str] = None) -> List[BratEntityTriple]:
    """The BRAT entities of a Doc: ``doc.ents`` by default, or a span group.

    Unique BRAT-looking ids (``span.id_``) are kept, the others numbered. In a span group, spans sharing a
    non-empty ``span.id_`` (as written by the converter for the fragments of a discontinuous entity) become
    one discontinuous entity again.
    """
    return _with_ids(_entity_groups(doc, spans_key))


def _with_ids(groups: Sequence[_Group]) -> List[BratEntityTriple]:
    return _assign_ids([(entity_id, label, fragments) for entity_id, label, fragments, _ in groups])


def doc_brat_notes(doc: Doc, groups: Sequence[_Group], entities: Sequence[BratEntityTriple]) -> List[BratNote]:
    """The ``#``/``N`` lines to write with ``entities`` (the ids :func:`_assign_ids` gave ``groups``).

    Kept notes go with an entity written under its own id; an entity with a ``kb_id_`` and no kept lines gets
    an ``N`` line. Note ids stay where unique, the others are numbered.
    """
    unchanged = {new for (old, _, _, _), (new, _, _) in zip(groups, entities) if old == new}
    notes = [note for note in doc_notes(doc) if note.target in unchanged]
    annotated = {note.target for note in notes}
    for (_, _, _, kb_id), (new, _, fragments) in zip(groups, entities):
        if kb_id and new not in annotated and not re.search(r"\s", kb_id):
            surface = " ".join(doc.text[start:end] for start, end in fragments)
            notes.append(BratNote("", NORMALIZATION, "Reference", new, " ".join(surface.split()), kb_id))
    return _number_notes(notes)


def _number_notes(notes: List[BratNote]) -> List[BratNote]:
    """Keep unique ``#…``/``N…`` ids; give the others (and empty ones) ``#1``, ``N1``... without clashes."""
    counts: Dict[str, int] = {}
    for note in notes:
        counts[note.id] = counts.get(note.id, 0) + 1
    used = {note.id for note in notes if note.id and counts[note.id] == 1}
    numbered = []
    for note in notes:
        note_id = note.id
        if note_id not in used or not note_id.startswith("#" if note.kind != NORMALIZATION else "N"):
            prefix, number = ("N" if note.kind == NORMALIZATION else "#"), 1
            while f"{prefix}{number}" in used:
                number += 1
            note_id = f"{prefix}{number}"
            used.add(note_id)
        numbered.append(BratNote(note_id, note.kind, note.type, note.target, note.text, note.reference))
    return numbered


class OutputNotEmpty(FileExistsError):
    """The export folder already holds files and overwriting was not asked for."""


def export_docs_to_brat(docs: Iterable[Doc], folder: PathLike, spans_key: Optional[str] = None,
                        overwrite: bool = False) -> ExportReport:
    """Write one ``.txt``/``.ann`` pair per Doc under ``folder``, named by ``doc.user_data["doc_id"]``
    (:class:`~.names.UniqueNames`: an unsafe or repeated id gets a numbered name, reported).

    A folder that already holds anything is refused (:class:`OutputNotEmpty`) unless ``overwrite``; even then
    no file is written through a symlink (or under a symlinked folder): such a document is not written and
    is reported as a ``symlink`` problem, so ``documents`` counts only the pairs written."""
    folder = Path(folder)
    if not overwrite and folder.is_dir() and any(folder.iterdir()):
        raise OutputNotEmpty(f"{folder} is not empty: export into an empty or new folder, or pass --overwrite to "
                             "replace the files of the same names there (symlinks are never written through)")
    report = ExportReport()
    names = UniqueNames()
    for index, doc in enumerate(docs):
        doc_id, why = names.name(doc.user_data.get(DOC_ID_KEY), f"doc{index:05d}")
        if why:
            report.problems.append(Problem("doc_id", doc_id, None, why))
        if spans_key is not None and spans_key not in doc.spans:
            report.problems.append(Problem("missing_span_group", doc_id, None,
                                           f"the Doc has no span group {spans_key!r}: its .ann was written empty"))
        groups = _entity_groups(doc, spans_key)
        entities = _with_ids(groups)
        notes = doc_brat_notes(doc, groups, entities)
        report.problems.extend(Problem("kb_id", doc_id, None, f"kb_id_ {kb_id!r} has whitespace: no N line written for it")
                               for _, _, _, kb_id in groups if re.search(r"\s", kb_id))
        try:
            write_brat_document(folder, doc_id, doc.text, entities, notes, overwrite=overwrite)
        except UnsafeOutput as err:
            report.problems.append(Problem("symlink" if err.errno == errno.ELOOP else "not_replaced", doc_id, None,
                                           f"not written: {err.strerror}"))
            continue
        except OSError as err:
            report.problems.append(Problem("write_failed", doc_id, None, f"not written: {err}"))
            continue
        report.documents += 1
        report.entities += len(entities)
        report.notes += len(notes)
    return report
