"""BRAT folder → spaCy Docs / DocBin, with a report that accounts for every annotation."""
from __future__ import annotations

import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import srsly
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from tqdm import tqdm

from ..text.sentences import ClinicalSentencizer, sentencizer_for
from ..text.tokenizer import blank_pipeline
from .brat import BratDocument, Problem, find_brat_files, read_brat_document
from .docs import NOTES_KEY, PathLike, build_doc
from .flatten import INVALID, OUTCOMES, flatten_entities


@dataclass
class ConversionReport:
    """Counts of everything the conversion read, kept, changed or left out.

    ``t_lines`` equals the sum of ``outcomes``: each ``T`` line ends up in ``doc.ents``
    (``in_ents``) or only in ``doc.spans["brat"]`` for a stated reason (``nested``,
    ``same_extent``, ``crossing``, ``discontinuous``), or nowhere because it is ``invalid``.
    ``notes_kept`` counts the ``#`` notes and ``N`` normalisations kept on an entity (they go back out
    with ``export-brat``); ``other_lines`` every line that is not kept (relations, events, attributes,
    notes on something else).
    """

    documents: int = 0
    documents_without_ann: int = 0
    t_lines: int = 0
    outcomes: Counter = field(default_factory=lambda: Counter({name: 0 for name in OUTCOMES}))
    changes: Counter = field(default_factory=Counter)
    spans_in_group: int = 0
    tokens_split: int = 0
    sentences: int = 0
    labels: Counter = field(default_factory=Counter)
    notes_kept: Counter = field(default_factory=Counter)
    other_lines: Counter = field(default_factory=Counter)
    problems: List[Problem] = field(default_factory=list)

    @property
    def problems_by_kind(self) -> Counter:
        return Counter(problem.kind for problem in self.problems)

    @property
    def is_consistent(self) -> bool:
        """True when every ``T`` line is accounted for by exactly one outcome."""
        return self.t_lines == sum(self.outcomes.values())

    def add(self, brat: BratDocument, doc: Doc, outcomes: List[str], changes: Counter,
            problems: List[Problem], tokens_split: int) -> None:
        """Count one converted document."""
        self.documents += 1
        self.documents_without_ann += not brat.has_ann
        self.t_lines += brat.t_lines
        self.outcomes.update(outcomes)
        self.outcomes[INVALID] += brat.invalid_t_lines
        self.changes.update(changes)
        self.spans_in_group += len(doc.spans["brat"])
        self.tokens_split += tokens_split
        self.sentences += sum(1 for _ in doc.sents)
        self.labels.update(ent.label_ for ent in doc.ents)
        self.other_lines.update(brat.other_lines)
        kept = Counter(record["kind"] for record in doc.user_data.get(NOTES_KEY, []))
        self.notes_kept.update(kept)
        self.other_lines.update(Counter(note.kind for note in brat.notes) - kept)  # on an entity with no span
        self.problems.extend(brat.problems)
        self.problems.extend(problems)

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict (what ``--report`` writes)."""
        return {
            "documents": self.documents,
            "documents_without_ann": self.documents_without_ann,
            "entities_in": self.t_lines,
            "outcomes": dict(self.outcomes),
            "changes": dict(self.changes),
            "spans_in_group": self.spans_in_group,
            "tokens_split": self.tokens_split,
            "sentences": self.sentences,
            "labels_in_ents": dict(sorted(self.labels.items())),
            "notes_kept": dict(self.notes_kept),
            "other_lines": dict(self.other_lines),
            "problems_by_kind": dict(self.problems_by_kind),
            "problems": [
                {"kind": p.kind, "file": p.file, "line": p.line, "message": p.message} for p in self.problems
            ],
            "all_entities_accounted_for": self.is_consistent,
        }

    def summary(self) -> str:
        """A human-readable summary (what the CLI prints)."""
        lines = [
            f"documents            {self.documents} ({self.documents_without_ann} without .ann)",
            f"entities in (T lines) {self.t_lines}",
            f"  in doc.ents        {self.outcomes['in_ents']}",
            "  only in spans[\"brat\"]:",
        ]
        for reason in ("nested", "same_extent", "crossing", "discontinuous"):
            lines.append(f"    {reason:<16} {self.outcomes[reason]}")
        lines.append(f"  invalid (dropped)  {self.outcomes['invalid']}")
        lines.append(f"  accounted for      {'yes' if self.is_consistent else 'NO'}")
        lines.append("changed: " + (", ".join(f"{k} {v}" for k, v in sorted(self.changes.items())) or "none"))
        lines.append(f"tokens split         {self.tokens_split}")
        lines.append(f"sentences            {self.sentences}")
        lines.append("notes kept: " + (", ".join(f"{k} {v}" for k, v in sorted(self.notes_kept.items())) or "none"))
        lines.append("other lines (not kept): " + (", ".join(f"{k} {v}" for k, v in sorted(self.other_lines.items())) or "none"))
        lines.append("problems: " + (", ".join(f"{k} {v}" for k, v in sorted(self.problems_by_kind.items())) or "none"))
        return "\n".join(lines)

    def write_json(self, path: PathLike) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path, self.to_dict())


def brat_document_to_doc(
    brat: BratDocument, nlp: Language, report: ConversionReport, discontinuous: str = "skip",
    sentencizer: Optional[ClinicalSentencizer] = None,
) -> Doc:
    """Convert one read BRAT document into a Doc, counting it in ``report``."""
    flat = flatten_entities(brat.text, brat.entities, discontinuous=discontinuous, file=brat.doc_id)
    doc, split = build_doc(nlp.make_doc, brat.text, flat.ents, flat.spans, brat.doc_id,
                           sentencizer or sentencizer_for(nlp.lang), brat.notes)
    report.add(brat, doc, flat.outcomes, flat.changes, flat.problems, split)
    return doc


def iter_brat_folder_docs(
    folder: PathLike, report: ConversionReport, nlp: Optional[Language] = None, lang: str = "es",
    discontinuous: str = "skip", progress: Optional[bool] = None, tokenizer: str = "clinical",
) -> Iterator[Doc]:
    """Yield one Doc per ``.txt`` file under ``folder``, counting everything in ``report``.

    The Docs are tokenised by ``nlp`` when given, else by a blank ``lang`` pipeline with the
    ``clinical`` or spaCy's ``default`` tokenizer (:mod:`spacy_clinical_flair.text.tokenizer`); use the one
    the pipeline will use. ``progress=None`` shows a progress bar only on a terminal.
    """
    nlp = nlp or blank_pipeline(lang, tokenizer)
    files, folder_problems = find_brat_files(Path(folder))
    report.problems.extend(folder_problems)
    sentencizer = sentencizer_for(nlp.lang)
    bar = tqdm(files, desc=f"converting {folder}", unit="doc", file=sys.stderr,
               disable=(not progress) if progress is not None else None)
    for path, doc_id in bar:
        try:
            brat = read_brat_document(path, doc_id)
        except OSError as err:  # permissions, a file gone since the listing, ...: this document only
            report.problems.append(Problem("unreadable", doc_id, None, f"could not be read ({err}); it was skipped"))
            continue
        yield brat_document_to_doc(brat, nlp, report, discontinuous, sentencizer)


def convert_brat_folder(
    folder: PathLike, output: Optional[PathLike] = None, lang: str = "es", discontinuous: str = "skip",
    progress: Optional[bool] = None, tokenizer: str = "clinical", nlp: Optional[Language] = None,
) -> tuple[DocBin, ConversionReport]:
    """Convert a BRAT folder to a DocBin (written to ``output`` when given) and its report.

    ``nlp`` (optional) tokenises instead of a blank ``lang`` pipeline with ``tokenizer``."""
    report = ConversionReport()
    docbin = DocBin(store_user_data=True)
    with msgpack_encoders_read_once():
        for doc in iter_brat_folder_docs(folder, report, nlp=nlp, lang=lang, discontinuous=discontinuous,
                                         progress=progress, tokenizer=tokenizer):
            docbin.add(doc)
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        docbin.to_disk(Path(output))
    return docbin, report


@contextmanager
def msgpack_encoders_read_once() -> Iterator[None]:
    """While inside, srsly's msgpack encoders (its own and other packages' entry points) are looked up once.

    ``DocBin.add`` packs each Doc's user data and span groups with srsly, and every pack re-reads the
    installed packages' entry points (about 1 ms a call, a third of converting a MEDDOCAN note). The
    encoders found on entry are used throughout; afterwards srsly looks them up as before.
    """
    registry = srsly.msgpack_encoders
    if "get_all" in vars(registry):  # already inside one
        yield
        return
    encoders = registry.get_all()
    registry.get_all = lambda: dict(encoders)  # an instance attribute: shadows the method
    try:
        yield
    finally:
        vars(registry).pop("get_all", None)
