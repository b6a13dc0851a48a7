"""clinical_flair_vote / clinical_flair_copy_ents: voting across different NER systems in one pipeline."""
import pytest
import spacy
from spacy.tokens import Span, SpanGroup

WORDS = "Paciente con diabetes mellitus tratada con metformina y dolor torácico".split()


def doc_with_groups(groups, scores=None):
    nlp = spacy.blank("es")
    doc = spacy.tokens.Doc(nlp.vocab, words=WORDS)
    for key, spans in groups.items():
        attrs = {"scores": scores[key]} if scores and key in scores else {}
        doc.spans[key] = SpanGroup(doc, name=key, spans=[Span(doc, s, e, label=lab) for s, e, lab in spans], attrs=attrs)
    return nlp, doc


def ents(doc):
    return [(e.start, e.end, e.label_) for e in doc.ents]


GROUPS = {"a": [(2, 4, "ENF"), (6, 7, "FAR")],
          "b": [(2, 4, "ENF"), (8, 10, "SIN")],
          "c": [(2, 4, "ENF"), (6, 7, "FAR"), (8, 10, "SIN"), (0, 1, "SIN")]}


def test_majority_and_unanimity_by_hand():
    nlp, doc = doc_with_groups(GROUPS)
    vote = nlp.add_pipe("clinical_flair_vote", config={"spans_keys": ["a", "b", "c"]})
    # 2 of 3: ENF (3 votes), FAR (a, c), SIN 8-10 (b, c); "Paciente" has one vote only
    assert ents(vote(doc)) == [(2, 4, "ENF"), (6, 7, "FAR"), (8, 10, "SIN")]
    nlp2, doc2 = doc_with_groups(GROUPS)
    unanimous = nlp2.add_pipe("clinical_flair_vote", config={"spans_keys": ["a", "b", "c"], "min_votes": 3})
    assert ents(unanimous(doc2)) == [(2, 4, "ENF")]


def test_a_different_label_or_boundary_is_a_different_vote():
    groups = {"a": [(2, 4, "ENF")], "b": [(2, 4, "SIN")], "c": [(2, 3, "ENF")]}
    nlp, doc = doc_with_groups(groups)
    assert ents(nlp.add_pipe("clinical_flair_vote", config={"spans_keys": ["a", "b", "c"]})(doc)) == []


def test_scores_come_from_the_groups_and_overlaps_go_to_more_votes():
    groups = {"a": [(2, 4, "ENF")], "b": [(2, 3, "ENF")], "c": [(2, 4, "ENF")], "d": [(2, 3, "ENF")]}
    scores = {"a": [0.9], "b": [0.2], "c": [0.7], "d": [0.3]}
    nlp, doc = doc_with_groups(groups, scores)
    # min_votes 2: both 2-4 (a, c; mean score (0.9+0.7)/4) and 2-3 (b, d; (0.2+0.3)/4) pass; they overlap and
    # tie on votes, so the higher mean score wins
    vote = nlp.add_pipe("clinical_flair_vote", config={"spans_keys": ["a", "b", "c", "d"], "min_votes": 2})
    assert ents(vote(doc)) == [(2, 4, "ENF")]


def test_copy_ents_then_vote_in_a_pipeline_with_rules_and_a_saved_round_trip(tmp_path):
    nlp = spacy.blank("es")
    for key, pattern in (("rules1", "metformina"), ("rules2", "metformina"), ("rules3", "dolor")):
        ruler = nlp.add_pipe("entity_ruler", name=f"ruler_{key}")
        ruler.add_patterns([{"label": "X", "pattern": [{"LOWER": pattern}]}])
        nlp.add_pipe("clinical_flair_copy_ents", name=f"copy_{key}", config={"spans_key": key, "clear_ents": True})
    nlp.add_pipe("clinical_flair_vote", config={"spans_keys": ["rules1", "rules2", "rules3"]})
    text = "Paciente con dolor tratado con metformina"
    assert [(e.text, e.label_) for e in nlp(text).ents] == [("metformina", "X")]
    nlp.to_disk(tmp_path / "p")
    assert [(e.text, e.label_) for e in spacy.load(tmp_path / "p")(text).ents] == [("metformina", "X")]


def test_clear_errors():
    nlp, doc = doc_with_groups({"a": [], "b": []})
    vote = nlp.add_pipe("clinical_flair_vote", config={"spans_keys": ["a", "missing"]})
    with pytest.raises(ValueError, match="no span group 'missing'.*clinical_flair_copy_ents"):
        vote(doc)
    with pytest.raises(ValueError, match="at least 2 systems"):
        spacy.blank("es").add_pipe("clinical_flair_vote", config={"spans_keys": ["a"]})
    with pytest.raises(ValueError, match="min_votes"):
        spacy.blank("es").add_pipe("clinical_flair_vote", config={"spans_keys": ["a", "b"], "min_votes": 3})
