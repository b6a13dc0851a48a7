"""`spacy evaluate` on a .spacy file gives strict per-label scores for clinical_flair_ner."""
import json
import subprocess
import sys
from collections import Counter

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_clinical_flair.corpus.convert import convert_brat_folder

from ..conftest import SAMPLE


def strict_prf(gold_docs, pred_docs):
    """Strict micro P/R/F per label, counted independently of spaCy's Scorer."""
    gold = {(i, e.start_char, e.end_char, e.label_) for i, d in enumerate(gold_docs) for e in d.ents}
    pred = {(i, e.start_char, e.end_char, e.label_) for i, d in enumerate(pred_docs) for e in d.ents}
    tp, n_gold, n_pred = Counter(x[3] for x in gold & pred), Counter(x[3] for x in gold), Counter(x[3] for x in pred)
    result = {}
    for label in n_gold | n_pred:
        p = tp[label] / n_pred[label] if n_pred[label] else 0.0
        r = tp[label] / n_gold[label] if n_gold[label] else 0.0
        result[label] = {"p": p, "r": r, "f": 2 * p * r / (p + r) if p + r else 0.0}
    return result, sum(tp.values())


def test_spacy_evaluate_gives_per_label_strict_scores(tmp_path, tiny_tagger_path):
    convert_brat_folder(SAMPLE / "dev", tmp_path / "dev.spacy", progress=False)
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path)})
    nlp.initialize()
    nlp.to_disk(tmp_path / "pipeline")

    subprocess.run([sys.executable, "-m", "spacy", "evaluate", str(tmp_path / "pipeline"), str(tmp_path / "dev.spacy"),
                    "--output", str(tmp_path / "metrics.json")], check=True, capture_output=True, cwd=tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())

    gold = list(DocBin().from_disk(tmp_path / "dev.spacy").get_docs(nlp.vocab))
    expected, true_positives = strict_prf(gold, list(nlp.pipe(d.text for d in gold)))
    assert true_positives > 0  # the comparison is not all zeros
    assert set(metrics["ents_per_type"]) == set(expected)
    for label, scores in expected.items():
        for key in ("p", "r", "f"):
            assert metrics["ents_per_type"][label][key] == pytest.approx(scores[key]), (label, key)
