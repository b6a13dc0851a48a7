"""The paired bootstrap of strict F1: hand-computed F1, identical systems, a strictly better copy, the CLI."""
import json

import numpy
import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_clinical_flair.cli import app
from spacy_clinical_flair.evaluate.significance import (
    compare_docs,
    document_counts,
    micro_f1,
    paired_bootstrap,
    strict_scores,
)

runner = CliRunner()


def test_counts_and_micro_f1_by_hand():
    gold = [{(0, 4, "A"), (5, 9, "B")}, {(0, 3, "A")}]
    pred = [{(0, 4, "A"), (5, 9, "A")}, set()]
    counts = document_counts(gold, pred)
    assert counts.tolist() == [[1, 2, 2], [0, 0, 1]]
    # P = 1/2, R = 1/3, F1 = 2PR/(P+R) = (1/3)/(5/6) = 0.4
    assert micro_f1(counts.sum(0)) == pytest.approx(0.4)
    assert micro_f1(numpy.array([0, 0, 0])) == 0.0


def random_counts(rng, n=60):
    gold = rng.integers(1, 12, size=n)
    matches = rng.binomial(gold, 0.6)
    predicted = matches + rng.integers(0, 4, size=n)
    return numpy.stack([matches, predicted, gold], axis=1)


def test_identical_systems_interval_contains_zero():
    counts = random_counts(numpy.random.default_rng(1))
    result = paired_bootstrap(counts, counts.copy(), samples=2000)
    assert result.difference == 0.0 and result.low <= 0.0 <= result.high and not result.significant
    assert result.p_value == 1.0


def test_strictly_better_copy_is_significant():
    counts = random_counts(numpy.random.default_rng(2))
    better = counts.copy()
    # one more correct entity in every document whose gold is not all found: F1 strictly higher on every resample
    room = better[:, 0] < better[:, 2]
    better[room, 0] += 1
    better[room, 1] += 1
    result = paired_bootstrap(better, counts, samples=2000)
    assert result.difference > 0 and result.low > 0 and result.significant and result.p_value < 0.05
    swapped = paired_bootstrap(counts, better, samples=2000)
    assert swapped.high < 0 and swapped.difference == pytest.approx(-result.difference)


def test_noise_is_not_significant():
    rng = numpy.random.default_rng(3)
    a = random_counts(rng)
    b = a.copy()
    flip = rng.choice(len(a), size=6, replace=False)
    b[flip[:3], 0] = numpy.maximum(b[flip[:3], 0] - 1, 0)  # three matches lost, three gained elsewhere
    b[flip[3:], 0] = numpy.minimum(b[flip[3:], 0] + 1, b[flip[3:], 2])
    result = paired_bootstrap(a, b, samples=2000)
    assert result.low < 0 < result.high and result.p_value > 0.05


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="same documents"):
        paired_bootstrap(numpy.zeros((3, 3)), numpy.zeros((4, 3)))
    with pytest.raises(ValueError, match="no documents"):
        paired_bootstrap(numpy.zeros((0, 3)), numpy.zeros((0, 3)))


def make_docs(nlp, texts, ents):
    docs = []
    for text, spans in zip(texts, ents):
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(s, e, label=label) for s, e, label in spans]
        docs.append(doc)
    return docs


def test_compare_docs_and_cli(tmp_path):
    nlp = spacy.blank("es")
    texts = [f"Paciente Juan {i} en Madrid" for i in range(30)]
    gold_ents = [[(9, 13, "NOMBRE"), (len(t) - 6, len(t), "LUGAR")] for t in texts]
    good = make_docs(nlp, texts, gold_ents)
    half = make_docs(nlp, texts, [e[:1] for e in gold_ents])
    gold = make_docs(nlp, texts, gold_ents)
    result = compare_docs(gold, good, half, samples=500)
    # good: F1 1; half: P 1, R 1/2, F1 2/3
    assert (result.f1_a, result.f1_b) == (pytest.approx(1.0), pytest.approx(2 / 3))
    assert result.significant
    for name, docs in (("gold", gold), ("good", good), ("half", half)):
        DocBin(docs=docs).to_disk(tmp_path / f"{name}.spacy")
    out = runner.invoke(app, ["compare", str(tmp_path / "gold.spacy"), str(tmp_path / "good.spacy"),
                              str(tmp_path / "half.spacy"), "--samples", "500", "--output", str(tmp_path / "c.json")])
    assert out.exit_code == 0, out.output
    assert "difference +0.3333" in out.output
    saved = json.loads((tmp_path / "c.json").read_text())
    assert saved["significant"] is True and saved["difference"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="not the gold document's text"):
        compare_docs(gold, good[::-1], half)


def test_strict_scores_by_hand():
    nlp = spacy.blank("es")
    texts = ["Juan vive en Madrid", "Ana en Lugo"]
    gold = make_docs(nlp, texts, [[(0, 4, "NOMBRE"), (13, 19, "LUGAR")], [(0, 3, "NOMBRE"), (7, 11, "LUGAR")]])
    # right: Juan, Lugo; wrong label on Ana; "vive" spurious; Madrid missed -> 2 of 4 predicted, 2 of 4 gold
    predicted = make_docs(nlp, texts, [[(0, 4, "NOMBRE"), (5, 9, "LUGAR")], [(0, 3, "LUGAR"), (7, 11, "LUGAR")]])
    assert strict_scores(gold, predicted) == {"p": 0.5, "r": 0.5, "f": pytest.approx(0.5)}
    assert strict_scores(gold, [nlp.make_doc(t) for t in texts]) == {"p": 0.0, "r": 0.0, "f": 0.0}
