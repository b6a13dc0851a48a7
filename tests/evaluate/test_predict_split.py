"""benchmarks/predict_split.py --spans-key: one head's span group kept as the entities, the others dropped."""
import sys
from pathlib import Path

import pytest
import spacy

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from predict_split import spans_as_entities  # noqa: E402


def test_a_span_group_replaces_the_entities():
    nlp = spacy.blank("es")
    doc = nlp("Dolor torácico tras paracetamol oral.")
    doc.ents = [doc.char_span(0, 14, label="SINTOMA")]  # another head's entities: must go
    doc.spans["drugs"] = [doc.char_span(20, 31, label="NORMALIZABLES")]
    kept = spans_as_entities(doc, "drugs")
    assert [(e.start_char, e.end_char, e.label_, e.text) for e in kept.ents] == [
        (20, 31, "NORMALIZABLES", "paracetamol")]


def test_a_missing_span_group_says_which_ones_exist():
    nlp = spacy.blank("es")
    doc = nlp("Sin fiebre.")
    doc.spans["symptoms"] = [doc.char_span(4, 10, label="SINTOMA")]
    with pytest.raises(SystemExit, match="no span group 'drugs'.*symptoms"):
        spans_as_entities(doc, "drugs")
