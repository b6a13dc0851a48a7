"""Error classes and lenient scores: counts worked out by hand, and equal to nervaluate's where both define them."""
import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from spacy_clinical_flair.evaluate.errors import ALL, classify, error_counts, score_ner_errors

TEXT = "Dolor torácico y fiebre alta tratados con aspirina; tos seca. Sin alergias."
GOLD = [("Dolor torácico", "SINTOMA"), ("fiebre alta", "SINTOMA"), ("aspirina", "FARMACO"), ("tos seca", "SINTOMA"),
        ("alergias", "ENFERMEDAD")]
PREDICTED = [("Dolor torácico", "SINTOMA"),  # correct
             ("fiebre", "SINTOMA"),  # overlaps "fiebre alta", same label: wrong boundary
             ("aspirina", "SINTOMA"),  # same boundaries as gold FARMACO: wrong label
             ("tos", "FARMACO"),  # overlaps "tos seca" (SINTOMA): wrong both
             ("tratados", "FARMACO")]  # overlaps nothing: spurious; gold "alergias" is missed
# by hand, per label (the gold label; the prediction's for spurious)
EXPECTED = {
    "SINTOMA": {"correct": 1, "wrong_label": 0, "wrong_boundary": 1, "wrong_both": 1, "missed": 0, "spurious": 0},
    "FARMACO": {"correct": 0, "wrong_label": 1, "wrong_boundary": 0, "wrong_both": 0, "missed": 0, "spurious": 1},
    "ENFERMEDAD": {"correct": 0, "wrong_label": 0, "wrong_boundary": 0, "wrong_both": 0, "missed": 1, "spurious": 0},
    ALL: {"correct": 1, "wrong_label": 1, "wrong_boundary": 1, "wrong_both": 1, "missed": 1, "spurious": 1},
}


def spans(entities):
    """(start, end, label) of each surface's first occurrence (every surface above occurs once, or first)."""
    return [(TEXT.index(surface), TEXT.index(surface) + len(surface), label) for surface, label in entities]


def test_counts_equal_the_hand_worked_ones():
    assert {label: dict(c) for label, c in error_counts([(spans(GOLD), spans(PREDICTED))]).items()} == EXPECTED


def test_classes_pair_each_gold_and_prediction_once():
    outcomes = classify(spans(GOLD), spans(PREDICTED))
    assert sorted((name, g and TEXT[g[0]:g[1]], p and TEXT[p[0]:p[1]]) for name, g, p in outcomes) == sorted([
        ("correct", "Dolor torácico", "Dolor torácico"), ("wrong_boundary", "fiebre alta", "fiebre"),
        ("wrong_label", "aspirina", "aspirina"), ("wrong_both", "tos seca", "tos"), ("missed", "alergias", None),
        ("spurious", None, "tratados")])


def examples():
    nlp = spacy.blank("es")
    gold, predicted = nlp.make_doc(TEXT), nlp.make_doc(TEXT)
    gold.ents = [gold.char_span(s, e, label=lab) for s, e, lab in spans(GOLD)]
    predicted.ents = [predicted.char_span(s, e, label=lab) for s, e, lab in spans(PREDICTED)]
    return [Example(predicted, gold)]


def test_scorer_adds_lenient_scores_and_classes_to_spacys_strict_ones():
    scores = score_ner_errors(examples())
    assert scores["ents_p"] == pytest.approx(1 / 5) and scores["ents_r"] == pytest.approx(1 / 5)  # spaCy's strict
    # lenient hits: correct + wrong boundary = 2 of 5 predictions and of 5 gold entities
    assert scores["ents_lenient_p"] == pytest.approx(2 / 5) and scores["ents_lenient_r"] == pytest.approx(2 / 5)
    assert scores["ents_lenient_per_type"]["SINTOMA"]["r"] == pytest.approx(2 / 3)
    assert scores["ents_errors"] == EXPECTED


def test_equal_to_nervaluate_where_both_define_the_counts():
    nervaluate = pytest.importorskip("nervaluate")
    as_dicts = [[{"label": lab, "start": s, "end": e - 1} for s, e, lab in spans(entities)]
                for entities in (GOLD, PREDICTED)]  # nervaluate's ends are inclusive
    results = nervaluate.Evaluator([as_dicts[0]], [as_dicts[1]], tags=["SINTOMA", "FARMACO", "ENFERMEDAD"]).evaluate()
    overall = results["overall"]
    ours = EXPECTED[ALL]
    assert overall["strict"].correct == ours["correct"]
    assert overall["strict"].incorrect == ours["wrong_label"] + ours["wrong_boundary"] + ours["wrong_both"]
    assert overall["ent_type"].correct == ours["correct"] + ours["wrong_boundary"]  # overlap, right label
    assert overall["ent_type"].incorrect == ours["wrong_label"] + ours["wrong_both"]
    assert overall["exact"].correct == ours["correct"] + ours["wrong_label"]  # boundaries, any label
    assert overall["exact"].incorrect == ours["wrong_boundary"] + ours["wrong_both"]
    for scheme in ("strict", "ent_type", "exact"):
        assert overall[scheme].missed == ours["missed"] and overall[scheme].spurious == ours["spurious"]
    scores = score_ner_errors(examples())
    assert overall["ent_type"].precision == pytest.approx(scores["ents_lenient_p"])
    assert overall["ent_type"].recall == pytest.approx(scores["ents_lenient_r"])


def test_registered_scorer_works_in_nlp_evaluate_and_as_a_score_weight():
    nlp = spacy.blank("es")
    nlp.add_pipe("entity_ruler", config={"scorer": {"@scorers": "clinical_flair.ner_scorer.v1"}})
    nlp.initialize()
    nlp.get_pipe("entity_ruler").add_patterns([{"label": lab, "pattern": surface} for surface, lab in PREDICTED])
    eg = examples()[0]
    scores = nlp.evaluate([Example(Doc(nlp.vocab, words=[t.text for t in eg.reference],
                                       spaces=[bool(t.whitespace_) for t in eg.reference]), eg.reference)])
    assert scores["ents_lenient_f"] == pytest.approx(2 / 5)
    assert scores["ents_errors"][ALL] == EXPECTED[ALL]
