"""The clinical tokenizer: splits that make entity edges token edges, registered for configs and spacy.load."""
import pytest
import spacy

from spacy_clinical_flair.text.tokenizer import TOKENIZER_NAME, blank_pipeline

TEXT = "Sexo: H. Edad:62 años. CP:28029 08005-Barcelona Dr. Pérez 21/12/1995 1,5 mg."


def tokens(nlp, text=TEXT):
    return [t.text for t in nlp.make_doc(text)]


def test_clinical_splits():
    assert tokens(blank_pipeline("es")) == [
        "Sexo", ":", "H", ".", "Edad", ":", "62", "años", ".", "CP", ":", "28029", "08005", "-", "Barcelona",
        "Dr.", "Pérez", "21/12/1995", "1,5", "mg", "."]


def test_spacys_own_tokenizer_keeps_what_annotators_split():
    # the reason for the clinical tokenizer: these tokens hold an entity edge inside them
    default = tokens(blank_pipeline("es", "default"))
    assert "H." in default and "Edad:62" in default and "CP:28029" in default and "08005-Barcelona" in default


def test_every_character_stays_in_place():
    doc = blank_pipeline("es").make_doc("\ufeffNHC:915943\r\nSexo: M.")
    assert doc.text == "\ufeffNHC:915943\r\nSexo: M."
    assert [t.text for t in doc if not t.is_space] == ["\ufeffNHC", ":", "915943", "Sexo", ":", "M", "."]


def test_registered_for_configs_and_saved_with_the_pipeline(tmp_path):
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER_NAME}}})
    assert tokens(nlp) == tokens(blank_pipeline("es"))
    nlp.to_disk(tmp_path / "p")
    assert tokens(spacy.load(tmp_path / "p")) == tokens(nlp)


def test_unknown_tokenizer_name():
    with pytest.raises(ValueError, match="clinical, default"):
        blank_pipeline("es", "whitespace")


@pytest.mark.parametrize("text, entity, expected_tokens", [
    # MEDDOCAN addresses that end at "s/n" (sin número): spaCy's "n." exception glued the stop to the n
    ("Avda. Carlos Haya, s/n. 29010 Málaga", "Avda. Carlos Haya, s/n",
     ["Avda.", "Carlos", "Haya", ",", "s", "/", "n", ".", "29010", "Málaga"]),
    # an ordinal sign before the full stop: "1º." was one token
    ("Colón, 28, 1º. 36201 Vigo", "Colón, 28, 1º", ["Colón", ",", "28", ",", "1º", ".", "36201", "Vigo"]),
    # a letter glued to a number by a slash: the number is the record id
    ("CIPA: nhc/976421.", "976421", ["CIPA", ":", "nhc", "/", "976421", "."]),
])
def test_entity_edges_found_in_meddocan_dev_are_token_edges(text, entity, expected_tokens):
    doc = blank_pipeline("es").make_doc(text)
    assert [t.text for t in doc] == expected_tokens
    start = text.index(entity)
    assert doc.char_span(start, start + len(entity)) is not None


def test_dates_ratios_and_upper_case_initials_stay_as_they_were():
    assert tokens(blank_pipeline("es"), "el 21/12/1995, 3/4 de dosis, J. García") == [
        "el", "21/12/1995", ",", "3/4", "de", "dosis", ",", "J", ".", "García"]
