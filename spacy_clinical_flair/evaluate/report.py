"""An error-analysis page: strict and lenient scores and the error classes per label, then every document
with its gold and predicted entities rendered by displaCy, each entity coloured by its error class.

``error_report(nlp, gold_docs)`` runs the pipeline on the gold documents' texts and returns the data
(:class:`ErrorReport`); :func:`render_html` turns it into one self-contained HTML page. The classes are
those of :mod:`spacy_clinical_flair.evaluate.errors`.
"""
from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Sequence, Tuple

from spacy import displacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from ..corpus.docs import DOC_ID_KEY
from .errors import (
    ALL,
    CORRECT,
    ERROR_CLASSES,
    MISSED,
    SPURIOUS,
    WRONG_BOTH,
    WRONG_BOUNDARY,
    WRONG_LABEL,
    Entity,
    Outcome,
    classify,
    entities,
    prf,
    score_ner_errors,
)

__all__ = ["COLORS", "DocumentErrors", "ErrorReport", "Entity", "entities", "error_report", "render_html"]

COLORS = {CORRECT: "#b7e4c7", WRONG_LABEL: "#a0c4ff", WRONG_BOUNDARY: "#ffd6a5", WRONG_BOTH: "#cdb4db",
          MISSED: "#ffd166", SPURIOUS: "#ff8fa3"}
LEGEND = {CORRECT: "correct", WRONG_LABEL: "wrong label", WRONG_BOUNDARY: "wrong boundary",
          WRONG_BOTH: "wrong label and boundary", MISSED: "missed", SPURIOUS: "spurious"}


@dataclass
class DocumentErrors:
    """One document: its text, its gold and predicted entities, and their error classes."""

    doc_id: str
    text: str
    gold: List[Entity]
    predicted: List[Entity]
    #: the gold entities' codes (``kb_id_``, e.g. from BRAT ``N`` lines), shown beside them
    codes: Dict[Entity, str] = field(default_factory=dict)

    @property
    def outcomes(self) -> List[Outcome]:
        return classify(self.gold, self.predicted)

    def _of(self, name: str, side: int) -> List[Entity]:
        return sorted(o[side] for o in self.outcomes if o[0] == name and o[side] is not None)  # type: ignore[misc]

    @property
    def correct(self) -> List[Entity]:
        return self._of(CORRECT, 1)

    @property
    def missed(self) -> List[Entity]:
        return self._of(MISSED, 1)

    @property
    def spurious(self) -> List[Entity]:
        return self._of(SPURIOUS, 2)


@dataclass
class ErrorReport:
    """Scores (:func:`~.errors.score_ner_errors`: spaCy's strict scores, lenient scores, error classes) and the documents."""

    scores: Dict[str, Any]
    documents: List[DocumentErrors] = field(default_factory=list)


def error_report(nlp: Language, gold_docs: Iterable[Doc], batch_size: int = 64) -> ErrorReport:
    """Run ``nlp`` on the texts of ``gold_docs`` and compare its entities with theirs."""
    gold = list(gold_docs)
    predicted = list(nlp.pipe((doc.text for doc in gold), batch_size=batch_size))
    scores = score_ner_errors(Example(p, g) for p, g in zip(predicted, gold))
    documents = [DocumentErrors(str(g.user_data.get(DOC_ID_KEY, f"document {i + 1}")), g.text, entities(g),
                                entities(p), {(e.start_char, e.end_char, e.label_): e.kb_id_ for e in g.ents if e.kb_id_})
                 for i, (p, g) in enumerate(zip(predicted, gold))]
    return ErrorReport(scores, documents)


def _render(text: str, marked: Sequence[Tuple[Entity, str]], title: str, codes: Dict[Entity, str]) -> str:
    """displaCy's entity view of ``text``: each entity labelled ``LABEL`` or ``LABEL · its error class``, with its code."""
    ents, colors = [], {}
    for entity, outcome in sorted(marked):
        start, end, label = entity
        shown = label if outcome == CORRECT else f"{label} · {LEGEND[outcome]}"
        colors[shown] = COLORS[outcome]
        ents.append({"start": start, "end": end, "label": shown, "kb_id": codes.get(entity, "")})
    return displacy.render({"text": text, "ents": ents, "title": title}, style="ent", manual=True, page=False,
                           options={"colors": colors})


def _scores_table(scores: Dict[str, Any]) -> str:
    """Strict and lenient P/R/F1 and the class counts, over all labels and per label."""
    errors = scores.get("ents_errors") or {ALL: Counter()}

    def row(name: str, counts: Dict[str, int]) -> str:
        counter = Counter(counts)
        numbers = [prf(counter, lenient=False), prf(counter, lenient=True)]
        cells = "".join(f"<td>{100 * n[key]:.1f}</td>" for n in numbers for key in ("p", "r", "f"))
        cells += "".join(f"<td>{counter[c]}</td>" for c in ERROR_CLASSES)
        return f"<tr><td>{html.escape(name)}</td>{cells}</tr>"

    head = ("<tr><th rowspan='2'>label</th><th colspan='3'>strict</th><th colspan='3'>lenient (overlap)</th>"
            f"<th colspan='{len(ERROR_CLASSES)}'>entities by class</th></tr><tr>"
            + "<th>P</th><th>R</th><th>F1</th>" * 2
            + "".join(f"<th style='background:{COLORS[c]}'>{LEGEND[c]}</th>" for c in ERROR_CLASSES) + "</tr>")
    rows = [row("all (micro)", errors.get(ALL, {}))]
    rows += [row(label, counts) for label, counts in sorted(errors.items()) if label != ALL]
    return f"<table class='scores'>{head}{''.join(rows)}</table>"


STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em; max-width: 70em; }
table.scores { border-collapse: collapse; margin-bottom: 1.5em; }
table.scores td, table.scores th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
table.scores td:first-child, table.scores th:first-child { text-align: left; }
section.document { border-top: 2px solid #888; margin-top: 1.5em; }
.legend span { padding: 0.1em 0.5em; border-radius: 0.3em; margin-right: 0.5em; }
.counts { color: #444; }
.gold h2, .predicted h2 { font-size: 0.95em; color: #555; text-transform: uppercase; letter-spacing: 0.05em; }
body.errors-only section.document.clean { display: none; }
"""


def render_html(report: ErrorReport, title: str = "Entity errors") -> str:
    """One self-contained HTML page: the score table, a legend, and every document (gold, then predicted)."""
    sections = []
    for index, document in enumerate(report.documents):
        outcomes = document.outcomes
        gold = [(g, name) for name, g, _ in outcomes if g is not None]
        predicted = [(p, name) for name, _, p in outcomes if p is not None]
        counts = Counter(name for name, _, _ in outcomes)
        clean = " clean" if set(counts) <= {CORRECT} else ""
        summary = ", ".join(f"{counts[c]} {LEGEND[c]}" for c in ERROR_CLASSES if counts[c] or c == CORRECT)
        sections.append(
            f"<section class='document{clean}' id='doc-{index}'><h2>{html.escape(document.doc_id)}</h2>"
            f"<p class='counts'>{summary}</p>"
            f"<div class='gold'>{_render(document.text, gold, 'gold', document.codes)}</div>"
            f"<div class='predicted'>{_render(document.text, predicted, 'predicted', {})}</div></section>")
    legend = "".join(f"<span style='background:{COLORS[o]}'>{LEGEND[o]}</span>" for o in ERROR_CLASSES)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{_scores_table(report.scores)}"
        f"<p class='legend'>{legend}<label><input type='checkbox' "
        "onchange=\"document.body.classList.toggle('errors-only', this.checked)\"> only documents with errors"
        f"</label></p>{''.join(sections)}</body></html>")
