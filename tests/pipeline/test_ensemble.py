"""Majority voting over several taggers: the pure vote, and the component with a list of models."""
import pytest
import spacy

from spacy_clinical_flair.pipeline.component import ClinicalFlairNER
from spacy_clinical_flair.pipeline.ensemble import majority, vote

from ..conftest import sample_texts

# ---------------------------------------------------------------- the vote, on hand-made predictions

A = [(0, 2, "X", 0.9), (3, 4, "Y", 0.8), (6, 7, "Z", 0.3)]
B = [(0, 2, "X", 0.7), (6, 7, "Z", 0.5)]
C = [(0, 2, "Y", 0.6), (3, 4, "Y", 0.4)]


def test_majority_of_members():
    assert [majority(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]


def test_strict_majority_keeps_what_two_of_three_predicted_exactly():
    # (0,2,X): A and B -> (0.9 + 0.7) / 3; (3,4,Y): A and C -> (0.8 + 0.4) / 3; (6,7,Z): A and B -> (0.3 + 0.5) / 3
    # (0,2,Y) only C: out. Same boundaries with another label is another entity.
    result = vote([A, B, C])
    assert [(s, e, label) for s, e, label, _ in result] == [(0, 2, "X"), (3, 4, "Y"), (6, 7, "Z")]
    assert [round(score, 6) for *_, score in result] == [round(1.6 / 3, 6), round(1.2 / 3, 6), round(0.8 / 3, 6)]


def test_unanimity():
    assert vote([A, B, C], min_votes=3) == []
    assert [e[:3] for e in vote([A, B, A], min_votes=3)] == [(0, 2, "X"), (6, 7, "Z")]


def test_one_vote_resolves_overlaps_by_votes_then_score():
    # min_votes 1 accepts (0,2,X) with 2 votes and (0,2,Y) with 1: they overlap, X has more votes.
    # (1,3,W) (one vote, score 0.99) overlaps X too and loses on votes despite its score.
    # (3,4,Y) has two votes and does not overlap X.
    d = [(1, 3, "W", 0.99)]
    result = vote([A, B, C, d], min_votes=1)
    assert [e[:3] for e in result] == [(0, 2, "X"), (3, 4, "Y"), (6, 7, "Z")]
    # equal votes: the higher mean score wins
    assert [e[:3] for e in vote([[(0, 2, "X", 0.2)], [(1, 3, "W", 0.9)]], min_votes=1)] == [(1, 3, "W")]


def test_a_member_counts_once_per_entity_and_two_members_need_both():
    assert vote([[(0, 1, "X", 0.5), (0, 1, "X", 0.5)], []]) == []  # 2 members: majority is 2
    assert vote([[(0, 1, "X", 0.5)]]) == [(0, 1, "X", 0.5)]  # one member: its own predictions
    assert vote([]) == []


@pytest.mark.parametrize("min_votes", [0, 4])
def test_impossible_min_votes(min_votes):
    with pytest.raises(ValueError, match="between 1 and the number of models"):
        vote([A, B, C], min_votes=min_votes)


# ---------------------------------------------------------------- the component with several taggers

NOISE = 0.5

@pytest.fixture(scope="module")
def second_tagger_path(tmp_path_factory, tiny_tagger_path):
    """The tiny tagger with noise on its output layer: agrees with it on some entities, not all."""
    import torch

    from spacy_clinical_flair.models.tagger_format import load_tagger_file, save_tagger

    tagger = load_tagger_file(tiny_tagger_path)
    torch.manual_seed(1)
    with torch.no_grad():
        tagger.linear.weight.add_(torch.randn_like(tagger.linear.weight) * NOISE)
    return save_tagger(tagger, tmp_path_factory.mktemp("models") / "tiny-tagger-2.safetensors")


def pipeline(model, **config):
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": model, **config})
    nlp.initialize()
    return nlp


def entity_sets(nlp, texts):
    return [{(e.start_char, e.end_char, e.label_) for e in doc.ents} for doc in nlp.pipe(texts)]


def test_two_copies_outvote_a_third_model(tiny_tagger_path, second_tagger_path):
    texts = sample_texts()
    single_a = entity_sets(pipeline(str(tiny_tagger_path)), texts)
    single_b = entity_sets(pipeline(str(second_tagger_path)), texts)
    assert single_a != single_b, "the two random taggers should disagree somewhere"
    ensemble = pipeline([str(tiny_tagger_path), str(tiny_tagger_path), str(second_tagger_path)])
    # A has two votes of three for each of its entities; anything only B predicts has one
    assert entity_sets(ensemble, texts) == single_a
    # unanimity: A's entities that B predicted too, exactly
    unanimous = pipeline([str(tiny_tagger_path), str(tiny_tagger_path), str(second_tagger_path)], min_votes=3)
    expected = [a & b for a, b in zip(single_a, single_b)]
    assert any(expected), "the fixture should have some entities both taggers predict"
    assert entity_sets(unanimous, texts) == expected


def test_ensemble_scores_are_member_means(tiny_tagger_path, second_tagger_path):
    text = sample_texts()[0]
    doc_a = pipeline(str(tiny_tagger_path))(text)
    doc_b = pipeline(str(second_tagger_path))(text)
    doc = pipeline([str(tiny_tagger_path), str(second_tagger_path)])(text)  # 2 members: both must agree
    assert doc.ents, "the two taggers should agree on some entity of this note"
    for span in doc.ents:
        key = f"{span.start_char}:{span.end_char}:{span.label_}"
        expected = (doc_a._.clinical_flair_scores[key] + doc_b._.clinical_flair_scores[key]) / 2
        assert span._.clinical_flair_score == pytest.approx(expected, abs=1e-6)


def test_ensemble_round_trips_through_disk_and_bytes(tmp_path, tiny_tagger_path, second_tagger_path):
    texts = sample_texts()[:4]
    models = [str(tiny_tagger_path), str(second_tagger_path), str(second_tagger_path)]
    nlp = pipeline(models)
    expected = entity_sets(nlp, texts)
    nlp.to_disk(tmp_path / "pipe")
    folder = tmp_path / "pipe" / "clinical_flair_ner"
    assert sorted(p.name for p in folder.iterdir()) == ["cfg", "model-0.safetensors", "model-1.safetensors",
                                                        "model-2.safetensors"]
    loaded = spacy.load(tmp_path / "pipe")
    assert len(loaded.get_pipe("clinical_flair_ner").taggers) == 3
    assert entity_sets(loaded, texts) == expected
    copy = ClinicalFlairNER(nlp.vocab).from_bytes(nlp.get_pipe("clinical_flair_ner").to_bytes())
    assert [{(e.start_char, e.end_char, e.label_) for e in copy(nlp.make_doc(t)).ents} for t in texts] == expected


def test_min_votes_above_the_number_of_models_is_a_clear_error(tiny_tagger_path):
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": [str(tiny_tagger_path)] * 2, "min_votes": 3})
    with pytest.raises(ValueError, match="min_votes is 3 but there are only 2"):
        nlp.initialize()
