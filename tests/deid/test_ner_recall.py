"""``clinical_flair_ner_recall``: the entities of the NER's beam it adds for de-identification. The choice among
scored entities on hand-made scores; on a tiny trained spaCy ``ner``, the spans it writes checked against the
beam's parses read through spaCy's lower-level API (each parse's probability summed per entity by hand here);
de-identification replacing them; clear errors."""
import pytest
import spacy
from spacy.training import Example
from spacy.util import fix_random_seed

import spacy_clinical_flair  # noqa: F401  (registers the factories)
from spacy_clinical_flair.deid.deidentify import Deidentifier, DeidSettings
from spacy_clinical_flair.deid.ner_recall import RECALL_SPANS_KEY, select_likely

TRAIN = [("Paciente Juan Pérez ingresa en Madrid .", [(9, 19, "NOMBRE"), (31, 37, "LUGAR")]),
         ("Ana López vive en Sevilla .", [(0, 9, "NOMBRE"), (18, 25, "LUGAR")]),
         ("Visita de Luis Gil desde Bilbao .", [(10, 18, "NOMBRE"), (25, 31, "LUGAR")]),
         ("Sin hallazgos en la exploración .", [])]
TEXTS = ["Paciente Marta Ruiz ingresa en Toledo .", "Carlos vive en Soria con Elena .",
         "Visita de Pedro desde Lugo y Vigo ."]


def test_select_likely_takes_the_most_likely_first_and_nothing_that_overlaps():
    scores = {(0, 2, "A"): 0.9, (1, 3, "B"): 0.6,  # B overlaps the more likely A
              (4, 5, "E"): 0.5,  # overlaps the taken 4-6
              (6, 7, "C"): 0.3,  # exactly the threshold: kept
              (7, 8, "D"): 0.29,  # under it
              (9, 11, "X"): 0.4, (10, 12, "Y"): 0.4}  # a tie: the earlier first
    assert select_likely([(4, 6)], scores, 0.3) == [(0, 2, "A"), (6, 7, "C"), (9, 11, "X")]
    assert select_likely([(4, 6)], scores, 0.95) == []
    assert select_likely([], scores, 0.55) == [(0, 2, "A")]


@pytest.fixture(scope="module")
def tiny_ner():
    fix_random_seed(0)
    nlp = spacy.blank("es")
    nlp.add_pipe("ner")
    examples = [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in TRAIN]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(8):  # few updates: a model still unsure, whose beam holds alternatives
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


def beam_probabilities(nlp, text, width):
    """Per (start, end, label): the summed probability of the final parses of the beam over a new Doc of
    ``text`` (no entity set on it) that hold it."""
    ner = nlp.get_pipe("ner")
    totals = {}
    for probability, parse in ner.moves.get_beam_parses(ner.beam_parse([nlp.make_doc(text)], beam_width=width)[0]):
        for entity in parse:
            totals[entity] = totals.get(entity, 0.0) + probability
    return totals


@pytest.mark.parametrize("threshold", [0.05, 0.3])
def test_the_spans_written_are_the_likely_beam_entities_outside_doc_ents(tiny_ner, threshold):
    before = [[(e.start, e.end, e.label_) for e in doc.ents] for doc in tiny_ner.pipe(TEXTS)]
    recall = tiny_ner.add_pipe("clinical_flair_ner_recall", config={"threshold": threshold, "beam_width": 4})
    try:
        written = 0
        for doc, ents_before in zip(tiny_ner.pipe(TEXTS), before):
            assert [(e.start, e.end, e.label_) for e in doc.ents] == ents_before  # doc.ents put back as they were
            spans = list(doc.spans[RECALL_SPANS_KEY])
            probabilities = beam_probabilities(tiny_ner, doc.text, 4)
            ents = [(e.start, e.end) for e in doc.ents]
            expected, taken = [], list(ents)
            for (start, end, label), p in sorted(probabilities.items(), key=lambda item: (-item[1], item[0])):
                if p >= threshold and not any(s < end and start < e for s, e in taken):
                    taken.append((start, end))
                    expected.append((start, end, label))
            assert sorted((s.start, s.end, s.label_) for s in spans) == sorted(expected)
            for span in spans:
                assert not any(s < span.end and span.start < e for s, e in ents)
            written += len(spans)
        assert recall.threshold == threshold
    finally:
        tiny_ner.remove_pipe("clinical_flair_ner_recall")
    if threshold == 0.05:
        assert written > 0  # the unsure model's beam does hold alternatives: the check above compared something


def test_deidentification_replaces_the_beam_spans_and_says_so(tiny_ner, monkeypatch):
    monkeypatch.setenv("CLINICAL_FLAIR_DEID_KEY", "0123456789abcdef-test-key")
    tiny_ner.add_pipe("clinical_flair_ner_recall", config={"threshold": 0.05, "beam_width": 4})
    tiny_ner.add_pipe("clinical_flair_deidentify", config={"default_operator": "tag", "recall_rules": False,
                                                           "propagate": False})
    try:
        for doc in tiny_ner.pipe(TEXTS):
            replaced = {(r.start, r.end, r.label): r.note for r in doc._.deid.replacements}
            for span in doc.spans[RECALL_SPANS_KEY]:
                assert replaced[(span.start_char, span.end_char, span.label_)] == "likely by the NER's beam"
            for ent in doc.ents:
                assert replaced[(ent.start_char, ent.end_char, ent.label_)] == ""
            assert len(replaced) == len(doc.ents) + len(doc.spans[RECALL_SPANS_KEY])
    finally:
        tiny_ner.remove_pipe("clinical_flair_deidentify")
        tiny_ner.remove_pipe("clinical_flair_ner_recall")


def test_likely_entities_overlapping_an_entity_are_left_to_it():
    text = "Juan Pérez vive en Toledo."
    #       01234567890123456789012345
    result = Deidentifier(DeidSettings(default_operator="tag", recall_rules=False, propagate=False)).deidentify(
        text, [(0, 10, "NOMBRE")], "p", likely=[(5, 10, "LUGAR"), (19, 25, "LUGAR")])
    assert result.text == "[NOMBRE] vive en [LUGAR]."
    assert [(r.text, r.note) for r in result.replacements] == [("Juan Pérez", ""),
                                                              ("Toledo", "likely by the NER's beam")]


def test_clear_errors_for_a_pipeline_without_a_beam():
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner_recall")
    with pytest.raises(ValueError, match="which the pipeline does not have"):
        nlp("Juan vive en Toledo.")
    ruler = spacy.blank("es")
    ruler.add_pipe("entity_ruler", name="ner")
    ruler.add_pipe("clinical_flair_ner_recall")
    with pytest.raises(ValueError, match="not a spaCy 'ner'"):
        ruler("Juan vive en Toledo.")
    with pytest.raises(ValueError, match="beam_width must be at least 2"):
        spacy.blank("es").add_pipe("clinical_flair_ner_recall", config={"beam_width": 1})
    with pytest.raises(ValueError, match="threshold must be a probability"):
        spacy.blank("es").add_pipe("clinical_flair_ner_recall", config={"threshold": 0.0})
