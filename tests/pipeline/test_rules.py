"""EntityRuler before and after clinical_flair_ner, both ents policies, and a downstream rule.

The tagger's predictions are fixed by hand here (the component's ``predict`` is replaced), so the
expected entities follow from the documented policies alone.
"""
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Span

TEXT = "Paciente con dolor abdominal tratado con paracetamol sin fiebre ."
#        0        1   2     3         4       5   6           7   8      9
MODEL = [(2, 4, "SINTOMA", 0.9), (6, 7, "FARMACO", 0.8), (8, 9, "SINTOMA", 0.7)]
PATTERNS = [
    {"label": "PERSONA", "pattern": "Paciente"},
    {"label": "SINTOMA_REGLA", "pattern": "dolor"},
    {"label": "ANATOMIA", "pattern": "abdominal"},
    {"label": "FARMACO", "pattern": "paracetamol"},
]

if not Span.has_extension("negated"):
    Span.set_extension("negated", default=False)


@Language.component("negacion_simple")
def negacion_simple(doc):
    """A toy negation rule: an entity is negated when 'sin', 'no' or 'niega' is among the 2 tokens before it."""
    for ent in doc.ents:
        ent._.negated = any(t.lower_ in {"sin", "no", "niega"} for t in doc[max(0, ent.start - 2):ent.start])
    return doc


def build(tiny_tagger_path, order, policy, overwrite=False):
    nlp = spacy.blank("es")
    for name in order:
        if name == "ruler":
            ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": overwrite})
        elif name == "ner":
            ner = nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path), "ents_policy": policy})
        else:
            nlp.add_pipe(name)
    nlp.initialize()  # resets an EntityRuler's patterns: add them after
    if "ruler" in order:
        ruler.add_patterns(PATTERNS)
    ner.predict = lambda docs: [list(MODEL) for _ in docs]
    return nlp


def ents(doc):
    return [(e.start, e.end, e.label_) for e in doc.ents]


def test_fixture_tokens(nlp):
    assert [t.text for t in nlp.make_doc(TEXT)][2:4] == ["dolor", "abdominal"]


def test_ruler_before_keep_adds_only_non_overlapping_predictions(tiny_tagger_path):
    doc = build(tiny_tagger_path, ["ruler", "ner"], "keep")(TEXT)
    assert ents(doc) == [(0, 1, "PERSONA"), (2, 3, "SINTOMA_REGLA"), (3, 4, "ANATOMIA"), (6, 7, "FARMACO"),
                         (8, 9, "SINTOMA")]
    scores = [e._.clinical_flair_score for e in doc.ents]
    assert scores[:3] == [None, None, None]  # rule entities the model did not predict have no score
    # the model predicted the ruler's FARMACO span too (same offsets, same label): its confidence shows
    assert scores[3:] == [pytest.approx(0.8), pytest.approx(0.7)]


def test_ruler_before_replace_keeps_only_predictions(tiny_tagger_path):
    doc = build(tiny_tagger_path, ["ruler", "ner"], "replace")(TEXT)
    assert ents(doc) == [(2, 4, "SINTOMA"), (6, 7, "FARMACO"), (8, 9, "SINTOMA")]


@pytest.mark.parametrize("policy", ["keep", "replace"])
def test_ruler_after_without_overwrite_fills_gaps(tiny_tagger_path, policy):
    doc = build(tiny_tagger_path, ["ner", "ruler"], policy)(TEXT)
    assert ents(doc) == [(0, 1, "PERSONA"), (2, 4, "SINTOMA"), (6, 7, "FARMACO"), (8, 9, "SINTOMA")]


def test_ruler_after_with_overwrite_wins_overlaps(tiny_tagger_path):
    doc = build(tiny_tagger_path, ["ner", "ruler"], "keep", overwrite=True)(TEXT)
    assert ents(doc) == [(0, 1, "PERSONA"), (2, 3, "SINTOMA_REGLA"), (3, 4, "ANATOMIA"), (6, 7, "FARMACO"),
                         (8, 9, "SINTOMA")]


def test_downstream_negation_rule_sees_the_model_entities(tiny_tagger_path):
    doc = build(tiny_tagger_path, ["ner", "negacion_simple"], "keep")(TEXT)
    assert [(e.text, e._.negated) for e in doc.ents] == [
        ("dolor abdominal", False), ("paracetamol", False), ("fiebre", True)]
