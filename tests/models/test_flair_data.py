"""Docs → Flair: one sentence per spaCy sentence, spaCy tokens unchanged, BIOES tags."""
from spacy_clinical_flair.models.flair_data import (
    FlairDataReport,
    docs_to_flair_sentences,
    entity_token_spans,
    sentence_tags,
    sentence_tokens,
    write_column_file,
)
from spacy_clinical_flair.text.sentences import ClinicalSentencizer


def make_doc(nlp, text, ents):
    doc = nlp.make_doc(text)
    doc.ents = [doc.char_span(s, e, label=label) for s, e, label in ents]
    ClinicalSentencizer()(doc)
    return doc


# 'Cáncer de mama' 0-14, 'Dolor\n abdominal' 16-32 (an entity over a whitespace token), 'fiebre' 35-41
TEXT = "Cáncer de mama.\nDolor\n abdominal y fiebre."
ENTS = [(0, 14, "ENFERMEDAD"), (16, 32, "SINTOMA"), (35, 41, "SINTOMA")]


def test_fixture_offsets():
    assert [TEXT[s:e] for s, e, _ in ENTS] == ["Cáncer de mama", "Dolor\n abdominal", "fiebre"]


def test_sentence_tags_are_bioes_over_the_non_whitespace_tokens(nlp):
    doc = make_doc(nlp, TEXT, ENTS)
    first, second = sentence_tokens(doc)
    assert sentence_tags(first, entity_token_spans(first, doc.ents)[0]) == ["B-ENFERMEDAD", "I-ENFERMEDAD",
                                                                            "E-ENFERMEDAD", "O"]
    # 'Dolor \n abdominal' spans a whitespace token, which Flair does not see: B then E
    assert sentence_tags(second, entity_token_spans(second, doc.ents)[0]) == ["B-SINTOMA", "E-SINTOMA", "O",
                                                                             "S-SINTOMA", "O"]


def test_sentences_skip_whitespace_tokens_only(nlp):
    doc = make_doc(nlp, TEXT, ENTS)
    sents = sentence_tokens(doc)
    assert [[doc[i].text for i in s.token_indices] for s in sents] == [
        ["Cáncer", "de", "mama", "."], ["Dolor", "abdominal", "y", "fiebre", "."]]


def test_flair_sentences_carry_spacy_tokens_and_span_labels(nlp):
    doc = make_doc(nlp, TEXT, ENTS)
    report = FlairDataReport()
    sentences = list(docs_to_flair_sentences([doc], report=report))
    assert [[t.text for t in s] for s in sentences] == [
        ["Cáncer", "de", "mama", "."], ["Dolor", "abdominal", "y", "fiebre", "."]]
    labelled = [[(span.text, span.get_label("ner").value) for span in s.get_spans("ner")] for s in sentences]
    assert labelled == [[("Cáncer de mama", "ENFERMEDAD")], [("Dolor abdominal", "SINTOMA"), ("fiebre", "SINTOMA")]]
    assert sentences[1][1].start_position == len("Dolor\n ")  # offsets relative to the sentence start
    # a two-character gap is one space for Flair, whose char-LM offsets assume at most one
    assert sentences[1][0].whitespace_after == 1
    assert sentences[1].to_plain_string() == "Dolor abdominal y fiebre."
    assert (report.sentences, report.entities, report.whitespace_tokens_skipped) == (2, 3, 2)


def test_column_file(nlp, tmp_path):
    doc = make_doc(nlp, TEXT, ENTS)
    report = write_column_file([doc], tmp_path / "train.txt")
    assert (tmp_path / "train.txt").read_text(encoding="utf-8") == (
        "Cáncer B-ENFERMEDAD\nde I-ENFERMEDAD\nmama E-ENFERMEDAD\n. O\n\n"
        "Dolor B-SINTOMA\nabdominal E-SINTOMA\ny O\nfiebre S-SINTOMA\n. O\n\n")
    assert report.tokens == 9


def test_entity_crossing_a_sentence_boundary_is_counted_not_tagged(nlp):
    doc = nlp.make_doc("Uno dos. Tres cuatro.")
    doc.ents = [doc.char_span(4, 13, label="X")]  # 'dos. Tres'
    for token in doc:
        token.is_sent_start = token.i in (0, 3)  # boundary inside the entity, set by hand
    report = FlairDataReport()
    sentences = list(docs_to_flair_sentences([doc], report=report))
    assert report.entities_crossing_sentences == 1 and report.entities == 0
    assert all(not s.get_spans("ner") for s in sentences)


def test_docs_without_sentences_get_the_rule_based_splitter(nlp):
    doc = nlp.make_doc("Uno. Dos.")
    assert len(sentence_tokens(doc)) == 2
