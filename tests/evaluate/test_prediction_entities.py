"""benchmarks/prediction_entities.py: predictions kept as entity offsets read back exactly, on the gold texts."""
import sys
from pathlib import Path

import pytest
import spacy

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from prediction_entities import read_entity_docs, write_entities  # noqa: E402

from spacy_clinical_flair.evaluate.significance import strict_scores  # noqa: E402


def docs_with(nlp, text, spans):
    doc = nlp(text)
    doc.ents = [doc.char_span(start, end, label=label) for start, end, label in spans]
    return doc


def test_kept_entities_score_as_the_predicted_docs(tmp_path):
    nlp = spacy.blank("es")
    texts = ["Paciente de 45 años, Madrid.\n", "Sin fiebre ni dolor torácico."]
    gold = [docs_with(nlp, texts[0], [(12, 19, "EDAD"), (21, 27, "CIUDAD")]), docs_with(nlp, texts[1], [(4, 10, "SINTOMA")])]
    # one right, one with the wrong label; a second document with a span that misses by a word
    predicted = [docs_with(nlp, texts[0], [(12, 19, "EDAD"), (21, 27, "PAIS")]), docs_with(nlp, texts[1], [(14, 19, "SINTOMA")])]
    path = tmp_path / "pred.ents.json.gz"
    write_entities(predicted, path)
    back = read_entity_docs(path, gold)
    assert [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in back] == [
        [(12, 19, "EDAD"), (21, 27, "PAIS")], [(14, 19, "SINTOMA")]]
    assert [d.text for d in back] == texts
    # 1 match of 3 predicted and 3 gold: P = R = F = 1/3
    assert strict_scores(gold, back)["f"] == pytest.approx(1 / 3)
    assert strict_scores(gold, back) == strict_scores(gold, predicted)


def test_kept_entities_refuse_other_documents(tmp_path):
    nlp = spacy.blank("es")
    path = tmp_path / "pred.ents.json.gz"
    write_entities([nlp("Hola mundo")], path)
    with pytest.raises(ValueError, match="not the gold file's document 0"):
        read_entity_docs(path, [nlp("Hola Mundo")])
    with pytest.raises(ValueError, match="holds 1 documents, the gold file 2"):
        read_entity_docs(path, [nlp("Hola mundo"), nlp("otra")])
