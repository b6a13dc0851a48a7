"""The error-analysis page: scores, and every gold and predicted entity rendered with its outcome."""
import re
from html.parser import HTMLParser

import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_clinical_flair.cli import app
from spacy_clinical_flair.corpus.docs import DOC_ID_KEY
from spacy_clinical_flair.evaluate.report import error_report, render_html

TEXTS = ["Dolor torácico tratado con aspirina.", "Fiebre y tos; se pautó paracetamol.\nSin <alergias> & sin más."]
# gold, by hand: (text, label)
GOLD = [[("Dolor torácico", "SINTOMA"), ("aspirina", "FARMACO")],
        [("Fiebre", "SINTOMA"), ("tos", "SINTOMA"), ("paracetamol", "FARMACO")]]
# the rules below find: aspirina (correct), paracetamol (correct), "Dolor" as SINTOMA (gold is "Dolor
# torácico": overlapping, same label, a wrong boundary), "Fiebre" (correct), "alergias" as SINTOMA (spurious);
# "tos" is missed
PATTERNS = [{"label": "FARMACO", "pattern": "aspirina"}, {"label": "FARMACO", "pattern": "paracetamol"},
            {"label": "SINTOMA", "pattern": "Dolor"}, {"label": "SINTOMA", "pattern": "Fiebre"},
            {"label": "SINTOMA", "pattern": "alergias"}]


def gold_docs(nlp):
    docs = []
    for i, (text, gold) in enumerate(zip(TEXTS, GOLD)):
        doc = nlp.make_doc(text)
        spans = []
        for surface, label in gold:
            start = text.index(surface)
            spans.append(doc.char_span(start, start + len(surface), label=label))
        doc.ents = spans
        doc.user_data[DOC_ID_KEY] = f"case-{i + 1}"
        docs.append(doc)
    return docs


def ruler_pipeline():
    nlp = spacy.blank("es")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    return nlp


class Marks(HTMLParser):
    """Collects (view, entity text, label text) of every displaCy <mark> on the page."""

    def __init__(self):
        super().__init__()
        self.view, self.marks, self.stack = None, [], []

    def handle_starttag(self, tag, attrs):
        classes = dict(attrs).get("class", "") or ""
        if tag == "div" and classes in ("gold", "predicted"):
            self.view = classes
        if tag == "mark":
            self.stack.append(["", ""])
        elif tag == "span" and self.stack:
            self.stack[-1].append("label")

    def handle_data(self, data):
        if self.stack:
            slot = 1 if len(self.stack[-1]) > 2 else 0
            self.stack[-1][slot] += data

    def handle_endtag(self, tag):
        if tag == "mark":
            text, label, *_ = self.stack.pop()
            self.marks.append((self.view, text.strip(), label.strip()))


def test_report_marks_every_entity_with_its_outcome():
    nlp = ruler_pipeline()
    report = error_report(nlp, gold_docs(nlp))
    # by hand: 3 correct (aspirina, Fiebre, paracetamol), 1 wrong boundary (Dolor / Dolor torácico), 1 missed
    # (tos), 1 spurious (alergias): strict P = R = 3/5, lenient P = R = 4/5
    assert report.scores["ents_p"] == 3 / 5 and report.scores["ents_r"] == 3 / 5
    assert report.scores["ents_lenient_p"] == 4 / 5 and report.scores["ents_lenient_r"] == 4 / 5
    parser = Marks()
    parser.feed(render_html(report))
    assert sorted(m for m in parser.marks if m[0] == "gold") == sorted([
        ("gold", "Dolor torácico", "SINTOMA · wrong boundary"), ("gold", "aspirina", "FARMACO"),
        ("gold", "Fiebre", "SINTOMA"), ("gold", "tos", "SINTOMA · missed"), ("gold", "paracetamol", "FARMACO")])
    assert sorted(m for m in parser.marks if m[0] == "predicted") == sorted([
        ("predicted", "Dolor", "SINTOMA · wrong boundary"), ("predicted", "aspirina", "FARMACO"),
        ("predicted", "Fiebre", "SINTOMA"), ("predicted", "paracetamol", "FARMACO"),
        ("predicted", "alergias", "SINTOMA · spurious")])


def test_report_page_escapes_text_and_lists_labels_and_documents():
    nlp = ruler_pipeline()
    page = render_html(error_report(nlp, gold_docs(nlp)))
    assert "&lt;" in page and "<alergias>" not in page  # the note's own '<' is text, not markup
    assert "case-1" in page and "case-2" in page
    # per label: strict P/R/F1, lenient P/R/F1, then the six class counts (SINTOMA by hand: 1 correct, 0 wrong
    # label, 1 wrong boundary, 0 wrong both, 1 missed, 1 spurious; strict 1/3 = 33.3, lenient 2/3 = 66.7)
    assert re.search(r"<td>FARMACO</td>(<td>100.0</td>){6}<td>2</td>(<td>0</td>){5}</tr>", page)
    assert re.search(r"<td>SINTOMA</td>(<td>33.3</td>){3}(<td>66.7</td>){3}<td>1</td><td>0</td><td>1</td><td>0</td>"
                     r"<td>1</td><td>1</td></tr>", page)


def test_report_command_writes_the_page(tmp_path):
    nlp = ruler_pipeline()
    nlp.to_disk(tmp_path / "pipeline")
    DocBin(docs=gold_docs(nlp), store_user_data=True).to_disk(tmp_path / "gold.spacy")
    result = CliRunner().invoke(app, ["report", str(tmp_path / "pipeline"), str(tmp_path / "gold.spacy"),
                                      str(tmp_path / "report.html")])
    assert result.exit_code == 0, result.output
    assert "F1 0.6000" in result.output
    assert (tmp_path / "report.html").read_text(encoding="utf-8").count("<section") == 2
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nothing"), str(tmp_path / "gold.spacy"),
                                       str(tmp_path / "r.html")])
    assert missing.exit_code == 1 and "could not load the pipeline" in missing.output
