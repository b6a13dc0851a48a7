"""An error-analysis page: strict per-label scores, then every document with its gold and predicted
entities rendered by displaCy, misses and spurious predictions marked.

``error_report(nlp, gold_docs)`` runs the pipeline on the gold documents' texts and returns the data
(:class:`ErrorReport`); :func:`render_html` turns it into one self-contained HTML page.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Sequence, Tuple

from spacy import displacy
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example

from ..corpus.docs import DOC_ID_KEY

#: (start_char, end_char, label)
Entity = Tuple[int, int, str]
CORRECT, MISSED, SPURIOUS = "correct", "missed", "spurious"
COLORS = {CORRECT: "#b7e4c7", MISSED: "#ffd166", SPURIOUS: "#ff8fa3"}


@dataclass
class DocumentErrors:
    """One document: its text and, by outcome, its gold and predicted entities."""

    doc_id: str
    text: str
    gold: List[Entity]
    predicted: List[Entity]

    @property
    def correct(self) -> List[Entity]:
        return sorted(set(self.gold) & set(self.predicted))

    @property
    def missed(self) -> List[Entity]:
        return sorted(set(self.gold) - set(self.predicted))

    @property
    def spurious(self) -> List[Entity]:
        return sorted(set(self.predicted) - set(self.gold))


@dataclass
class ErrorReport:
    """Scores (spaCy's strict span scorer, as ``spacy evaluate``) and the documents."""

    scores: Dict[str, object]
    documents: List[DocumentErrors] = field(default_factory=list)


def entities(doc: Doc) -> List[Entity]:
    return [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]


def error_report(nlp: Language, gold_docs: Iterable[Doc], batch_size: int = 64) -> ErrorReport:
    """Run ``nlp`` on the texts of ``gold_docs`` and compare its entities with theirs."""
    gold = list(gold_docs)
    predicted = list(nlp.pipe((doc.text for doc in gold), batch_size=batch_size))
    examples = [Example(p, g) for p, g in zip(predicted, gold)]
    scores = Scorer.score_spans(examples, "ents")
    documents = [DocumentErrors(str(g.user_data.get(DOC_ID_KEY, f"document {i + 1}")), g.text, entities(g),
                                entities(p)) for i, (p, g) in enumerate(zip(predicted, gold))]
    return ErrorReport(scores, documents)


def _render(text: str, marked: Sequence[Tuple[Entity, str]], title: str) -> str:
    """displaCy's entity view of ``text`` with each entity labelled ``LABEL`` or ``LABEL · missed``/``spurious``."""
    ents, colors = [], {}
    for (start, end, label), outcome in sorted(marked):
        shown = label if outcome == CORRECT else f"{label} · {outcome}"
        colors[shown] = COLORS[outcome]
        ents.append({"start": start, "end": end, "label": shown})
    return displacy.render({"text": text, "ents": ents, "title": title}, style="ent", manual=True, page=False,
                           options={"colors": colors})


def _scores_table(scores: Dict[str, Any]) -> str:
    def cells(values) -> str:
        return "".join(f"<td>{100 * float(values[key]):.1f}</td>" for key in ("p", "r", "f"))

    rows = [f"<tr><th>all (micro)</th>{cells({'p': scores['ents_p'], 'r': scores['ents_r'], 'f': scores['ents_f']})}</tr>"]
    per_type = scores.get("ents_per_type") or {}
    for label in sorted(per_type):
        rows.append(f"<tr><td>{html.escape(label)}</td>{cells(per_type[label])}</tr>")
    return ("<table class='scores'><tr><th>label</th><th>P</th><th>R</th><th>F1</th></tr>" + "".join(rows)
            + "</table>")


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
        gold = [(e, CORRECT) for e in document.correct] + [(e, MISSED) for e in document.missed]
        predicted = [(e, CORRECT) for e in document.correct] + [(e, SPURIOUS) for e in document.spurious]
        clean = "" if document.missed or document.spurious else " clean"
        sections.append(
            f"<section class='document{clean}' id='doc-{index}'><h2>{html.escape(document.doc_id)}</h2>"
            f"<p class='counts'>{len(document.correct)} correct, {len(document.missed)} missed, "
            f"{len(document.spurious)} spurious</p>"
            f"<div class='gold'>{_render(document.text, gold, 'gold')}</div>"
            f"<div class='predicted'>{_render(document.text, predicted, 'predicted')}</div></section>")
    legend = "".join(f"<span style='background:{COLORS[o]}'>{o}</span>" for o in (CORRECT, MISSED, SPURIOUS))
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{_scores_table(report.scores)}"
        f"<p class='legend'>{legend}<label><input type='checkbox' "
        "onchange=\"document.body.classList.toggle('errors-only', this.checked)\"> only documents with errors"
        f"</label></p>{''.join(sections)}</body></html>")
