"""The rule-based sentence splitter."""
import spacy

from spacy_clinical_flair.text.sentences import ClinicalSentencizer
from spacy_clinical_flair.text.tokenizer import blank_pipeline


def sents(nlp, text, ents=()):
    doc = nlp.make_doc(text)
    doc.ents = [doc.char_span(s, e, label=label) for s, e, label in ents]
    ClinicalSentencizer()(doc)
    return [sent.text for sent in doc.sents]


def test_full_stops_line_breaks_and_quotes(nlp):
    text = 'Paciente de 45 años. Acude por dolor.\nEn tto. con paracetamol. "Refiere mejoría." Alta.'
    assert sents(nlp, text) == ["Paciente de 45 años.", "Acude por dolor.\n", "En tto. con paracetamol.",
                                '"Refiere mejoría."', "Alta."]


def test_no_split_before_lower_case_or_after_abbreviations_and_initials(nlp):
    assert sents(nlp, "Visto por la Dra. Pérez y el Dr. J. García. Sin cambios.") == [
        "Visto por la Dra. Pérez y el Dr. J. García.", "Sin cambios."]
    assert sents(nlp, "Dolor abdominal. y fiebre") == ["Dolor abdominal. y fiebre"]


def test_whitespace_stays_with_the_previous_sentence(nlp):
    assert sents(nlp, "Uno.\n\n  Dos.") == ["Uno.\n\n  ", "Dos."]


def test_never_splits_inside_an_entity(nlp):
    text = "Diagnóstico: fractura de cadera.\nIzquierda operada."
    # the entity runs over the line break: 'cadera.\nIzquierda' is 25-42
    assert text[25:42] == "cadera.\nIzquierda"
    assert sents(nlp, text, [(13, 42, "ENFERMEDAD")]) == [text]
    assert sents(nlp, text) == ["Diagnóstico: fractura de cadera.\n", "Izquierda operada."]


def test_newline_splitting_can_be_switched_off(nlp):
    doc = nlp.make_doc("dolor\nfiebre")
    ClinicalSentencizer(split_on_newlines=False)(doc)
    assert len(list(doc.sents)) == 1


def test_factory_is_registered_and_works_in_a_pipeline():
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_sentencizer")
    assert [s.text for s in nlp("Uno. Dos.").sents] == ["Uno.", "Dos."]
    assert len(nlp("")) == 0


def test_addresses_and_contact_lines_are_not_cut():
    nlp = blank_pipeline("es")  # the clinical tokenizer splits "Ctra." and "Ed.ICA" at the full stop
    # MEDDOCAN dev: each of these was cut in two at inference, splitting the CALLE or phone entity in it
    for text in ["Hospital Virgen de la Arrixaca Ctra. Madrid - Cartagena s/n.",
                 "Vive en Pso. Isabel La Católica, s/n.",
                 "Urb. El Arco, 16.",
                 "Pz de Pontevedra,2, Ed.ICA, Esc.2a,5ºC 30009 Murcia.",
                 "Edificio No.7, Suite 737 Managua.",
                 "España Tfno. 670.97.10.26 E-mail: a@b.es",
                 "Calle 15 No. 654 e/ A Vedado."]:
        assert sents(nlp, text) == [text], text


def test_the_new_rules_still_end_sentences_where_they_end():
    nlp = blank_pipeline("es")
    # a full stop followed by a space and a capital still ends one, after a number too; "no." before a word does
    assert sents(nlp, "Calle Mayor 3. Fiebre alta.") == ["Calle Mayor 3.", "Fiebre alta."]
    assert sents(nlp, "Dice que no. Luego mejora.") == ["Dice que no.", "Luego mejora."]
