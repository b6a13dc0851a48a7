"""negspacy (NegEx, Spanish clinical termset) and medspacy (ConText) after clinical_flair_ner, with their real packages.

The tagger's predictions are fixed by hand (its ``predict`` is replaced, as in test_rules.py), so the entities
are known; the expected attributes are worked out by hand from the sentences and the libraries' rules:
NegEx marks an entity negated when a preceding cue comes before it, or a following cue after it, in the same
sentence and before a termination ("pero"); ConText does the same per category within the sentence.
"""
import pytest
import spacy

from spacy_clinical_flair.pipeline.assertion import add_spanish_context, negex_termset, spanish_context_rules

pytest.importorskip("negspacy")
pytest.importorskip("medspacy")

TEXT = ("Niega fiebre y disnea. Presenta tos productiva, pero no dolor torácico. Derrame pleural ha sido descartado. "
        "Sin edemas en miembros inferiores. Posible neumonía. Antecedentes de EPOC. Madre con diabetes. "
        "Refiere cefalea.")
# (entity text, label), then by hand: NegEx negated; ConText negated, uncertain, historical, family
EXPECTED = [
    ("fiebre", "SINTOMA", True, True, False, False, False),  # "niega" precedes
    ("disnea", "SINTOMA", True, True, False, False, False),  # same sentence, no termination in between
    ("tos productiva", "SINTOMA", False, False, False, False, False),  # affirmed; "pero" ends the scope of "no"
    ("dolor torácico", "SINTOMA", True, True, False, False, False),  # "no" after "pero"
    ("Derrame pleural", "ENFERMEDAD", True, True, False, False, False),  # "ha sido descartado" follows
    ("edemas en miembros inferiores", "SINTOMA", True, True, False, False, False),  # "sin" precedes
    ("neumonía", "ENFERMEDAD", False, False, True, False, False),  # "posible": uncertain, not negated
    ("EPOC", "ENFERMEDAD", False, False, False, True, False),  # "antecedentes de": historical
    ("diabetes", "ENFERMEDAD", False, False, False, False, True),  # "madre": family
    ("cefalea", "SINTOMA", False, False, False, False, False),  # affirmed
]


def pipeline(tiny_tagger_path):
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": "clinical_flair.tokenizer.v1"}}})
    nlp.add_pipe("clinical_sentencizer")
    ner = nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path)})
    nlp.add_pipe("negex", config={"neg_termset": negex_termset("es_clinical")})
    add_spanish_context(nlp)
    nlp.initialize()
    doc = nlp.make_doc(TEXT)
    spans, position = [], 0
    for text, label, *_ in EXPECTED:  # the fixed predictions: each entity's tokens, found in order
        start = TEXT.index(text, position)
        position = start + len(text)
        span = doc.char_span(start, position)
        spans.append((span.start, span.end, label, 0.9))
    ner.predict = lambda docs: [list(spans) for _ in docs]
    return nlp


def test_negex_and_context_set_their_attributes_on_the_components_entities(tiny_tagger_path):
    doc = pipeline(tiny_tagger_path)(TEXT)
    got = [(e.text, e.label_, e._.negex, e._.is_negated, e._.is_uncertain, e._.is_historical, e._.is_family)
           for e in doc.ents]
    assert got == EXPECTED


def test_the_same_pipeline_from_a_config_file(tiny_tagger_path, tmp_path):
    """negex's termset through the registered function, as a config file would name it."""
    config = spacy.util.load_config_from_str("""
[nlp]
lang = "es"
pipeline = ["clinical_sentencizer", "ruler", "negex"]
[nlp.tokenizer]
@tokenizers = "clinical_flair.tokenizer.v1"
[components]
[components.clinical_sentencizer]
factory = "clinical_sentencizer"
[components.ruler]
factory = "entity_ruler"
[components.negex]
factory = "negex"
[components.negex.neg_termset]
@misc = "clinical_flair.negex_termset.v1"
name = "es_clinical"
""")
    import negspacy.negation  # noqa: F401
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp.initialize()
    nlp.get_pipe("ruler").add_patterns([{"label": "SINTOMA", "pattern": "fiebre"}, {"label": "SINTOMA", "pattern": "tos"}])
    doc = nlp("Tiene tos. No refiere fiebre.")
    assert [(e.text, e._.negex) for e in doc.ents] == [("tos", False), ("fiebre", True)]


def test_context_rules_take_negspacys_spanish_terms_and_add_the_other_categories():
    rules = spanish_context_rules()
    by_phrase = {(r.literal, r.direction): r.category for r in rules}
    assert by_phrase[("niega", "FORWARD")] == "NEGATED_EXISTENCE"  # a NegEx preceding term
    assert by_phrase[("ha sido descartado", "BACKWARD")] == "NEGATED_EXISTENCE"  # a NegEx following term
    assert by_phrase[("pero", "TERMINATE")] == "TERMINATE"
    assert {r.category for r in rules} >= {"POSSIBLE_EXISTENCE", "HISTORICAL", "HYPOTHETICAL", "FAMILY", "PSEUDO"}


def test_an_unknown_termset_says_which_exist():
    with pytest.raises(ValueError, match="es_clinical"):
        negex_termset("xx")
