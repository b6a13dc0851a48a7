"""Flattening rules: outermost wins, same extent first, crossing longest, discontinuous and trimming."""
import pytest

from spacy_clinical_flair.corpus.brat import BratEntity
from spacy_clinical_flair.corpus.flatten import flatten_entities, trim_fragment

TEXT = "cáncer de mama y dolor torácico intenso"
CANCER, MAMA, DOLOR_TORACICO, TORACICO_INTENSO, DOLOR = (0, 14), (10, 14), (17, 31), (23, 39), (17, 22)


def test_fixture_offsets_are_what_they_claim():
    assert [TEXT[s:e] for s, e in (CANCER, MAMA, DOLOR_TORACICO, TORACICO_INTENSO, DOLOR)] == [
        "cáncer de mama", "mama", "dolor torácico", "torácico intenso", "dolor"]


def ent(id_, label, *fragments):
    return BratEntity(id_, label, tuple(fragments))


def ents_of(result):
    return [(s.start, s.end, s.label, s.entity_id) for s in result.ents]


def test_nested_entity_is_left_out_of_ents_but_kept_in_spans():
    result = flatten_entities(TEXT, [ent("T1", "ENFERMEDAD", CANCER), ent("T2", "ANATOMIA", MAMA)])
    assert ents_of(result) == [(0, 14, "ENFERMEDAD", "T1")]
    assert result.outcomes == ["in_ents", "nested"]
    assert [(s.start, s.end, s.label) for s in result.spans] == [(0, 14, "ENFERMEDAD"), (10, 14, "ANATOMIA")]


def test_nested_listed_before_its_container():
    result = flatten_entities(TEXT, [ent("T1", "ANATOMIA", MAMA), ent("T2", "ENFERMEDAD", CANCER)])
    assert ents_of(result) == [(0, 14, "ENFERMEDAD", "T2")]
    assert result.outcomes == ["nested", "in_ents"]


@pytest.mark.parametrize("first,second", [("ENFERMEDAD", "SINTOMA"), ("SINTOMA", "ENFERMEDAD")])
def test_same_extent_first_in_ann_order_wins(first, second):
    result = flatten_entities(TEXT, [ent("T1", first, CANCER), ent("T2", second, CANCER)])
    assert ents_of(result) == [(0, 14, first, "T1")]
    assert result.outcomes == ["in_ents", "same_extent"]


def test_crossing_longer_wins_whatever_the_order():
    for order in ([ent("T1", "A", DOLOR_TORACICO), ent("T2", "B", TORACICO_INTENSO)],
                  [ent("T2", "B", TORACICO_INTENSO), ent("T1", "A", DOLOR_TORACICO)]):
        result = flatten_entities(TEXT, order)
        assert ents_of(result) == [(23, 39, "B", "T2")]
        assert sorted(result.outcomes) == ["crossing", "in_ents"]


def test_crossing_tie_goes_to_the_earlier_start():
    text = "abcdef"
    for order in ([ent("T1", "X", (0, 4)), ent("T2", "Y", (2, 6))], [ent("T2", "Y", (2, 6)), ent("T1", "X", (0, 4))]):
        assert ents_of(flatten_entities(text, order)) == [(0, 4, "X", "T1")]


def test_entity_inside_a_crossing_loser_stays_nested():
    result = flatten_entities(TEXT, [ent("T1", "A", DOLOR_TORACICO), ent("T2", "B", TORACICO_INTENSO),
                                     ent("T3", "C", DOLOR)])
    assert ents_of(result) == [(23, 39, "B", "T2")]
    assert result.outcomes == ["crossing", "in_ents", "nested"]


def test_discontinuous_with_whitespace_gap_is_one_span():
    text = "dolor \n abdominal"
    result = flatten_entities(text, [ent("T1", "SINTOMA", (0, 5), (8, 17))])
    assert ents_of(result) == [(0, 17, "SINTOMA", "T1")]
    assert result.changes["discontinuous_joined"] == 1 and result.outcomes == ["in_ents"]


def test_discontinuous_with_real_gap_skip_and_cover():
    text = "dolor de tipo cólico en hipocondrio"
    entities = [ent("T1", "SINTOMA", (0, 5), (21, 35))]
    skipped = flatten_entities(text, entities)
    assert skipped.ents == [] and skipped.outcomes == ["discontinuous"]
    assert [(s.start, s.end, s.entity_id) for s in skipped.spans] == [(0, 5, "T1"), (21, 35, "T1")]
    assert [p.kind for p in skipped.problems] == ["discontinuous"]
    covered = flatten_entities(text, entities, discontinuous="cover")
    assert ents_of(covered) == [(0, 35, "SINTOMA", "T1")]
    assert covered.changes["discontinuous_covered"] == 1 and covered.outcomes == ["in_ents"]


def test_whitespace_is_trimmed_and_whitespace_only_is_invalid():
    text = " fiebre   "
    result = flatten_entities(text, [ent("T1", "SINTOMA", (0, 8)), ent("T2", "SINTOMA", (7, 10))])
    assert ents_of(result) == [(1, 7, "SINTOMA", "T1")]
    assert result.outcomes == ["in_ents", "invalid"]
    assert result.changes["trimmed"] == 2
    assert [p.kind for p in result.problems] == ["trimmed", "trimmed", "whitespace_only"]


def test_trim_fragment():
    assert trim_fragment("  ab \n", (0, 6)) == (2, 4)
    assert trim_fragment("   ", (0, 3)) == (3, 3)


def test_unknown_discontinuous_policy_is_a_clear_error():
    with pytest.raises(ValueError, match="discontinuous must be one of"):
        flatten_entities("a", [], discontinuous="merge")
