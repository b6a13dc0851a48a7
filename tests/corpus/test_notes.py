"""BRAT ``#`` notes and ``N`` normalisations: kept on their entity, through the DocBin, and written back."""
from pathlib import Path

from spacy.tokens import DocBin

import spacy_clinical_flair.registrations  # noqa: F401  (the span extensions)
from spacy_clinical_flair.corpus.brat import parse_ann, read_brat_folder
from spacy_clinical_flair.corpus.convert import convert_brat_folder
from spacy_clinical_flair.corpus.docs import kb_id_from_notes
from spacy_clinical_flair.corpus.export import export_docs_to_brat

from ..conftest import write_pair

# A plain entity (T1) with a code note, one nested in it (T2) with a normalisation and a free-text note,
# a discontinuous one (T3) with a note, a relation with a note of its own, and a note on no entity.
TEXT = "Carcinoma ductal de mama. Dolor intenso en hipocondrio derecho."
T_LINES = [
    "T1\tMORFOLOGIA 0 16\tCarcinoma ductal",
    "T2\tMORFOLOGIA 0 9\tCarcinoma",
    "T3\tSINTOMA 26 31;43 54\tDolor hipocondrio",
]
NOTE_LINES = [
    "#1\tAnnotatorNotes T1\t8500/3",
    "N1\tReference T2 SNOMED:68453008\tcarcinoma",
    "#2\tAnnotatorNotes T2\t     carcinoma sin especificar",
    "#3\tAnnotatorNotes T3\tdolor abdominal",
]
OTHER_LINES = ["R1\tPart Arg1:T2 Arg2:T1", "#4\tAnnotatorNotes R1\tcomprobar", "#5\tAnnotatorNotes T9\thuérfana"]
# the note on T1 comes first: a note may precede the entity it annotates
ANN = "\n".join([NOTE_LINES[0], *T_LINES, *NOTE_LINES[1:], *OTHER_LINES]) + "\n"


def converted(tmp_path: Path, nlp):
    write_pair(tmp_path / "in", "caso", TEXT, ANN)
    _, report = convert_brat_folder(tmp_path / "in", tmp_path / "c.spacy", progress=False)
    docs = list(DocBin().from_disk(tmp_path / "c.spacy").get_docs(nlp.vocab))
    return docs, report


def test_notes_on_valid_entities_are_kept_in_file_order_and_the_rest_counted():
    doc = parse_ann(ANN, TEXT, "caso.ann")
    assert [(n.id, n.kind, n.target) for n in doc.notes] == [
        ("#1", "note", "T1"), ("N1", "normalization", "T2"), ("#2", "note", "T2"), ("#3", "note", "T3")]
    assert doc.notes[1].reference == "SNOMED:68453008" and doc.notes[1].text == "carcinoma"
    assert doc.notes[2].text == "     carcinoma sin especificar"  # the text after the tab, exactly
    assert dict(doc.other_lines) == {"relation": 1, "note": 2}  # on R1, and on T9 which does not exist
    assert doc.problems == []


def test_notes_and_codes_survive_the_docbin_on_ents_and_every_fragment(tmp_path, nlp):
    docs, report = converted(tmp_path, nlp)
    doc = docs[0]
    assert [(e.text, e.id_, e.kb_id_, e._.brat_notes) for e in doc.ents] == [
        ("Carcinoma ductal", "T1", "8500/3", ["8500/3"])]
    spans = {(s.id_, s.text): s for s in doc.spans["brat"]}
    nested = spans[("T2", "Carcinoma")]
    assert nested.kb_id_ == "SNOMED:68453008"  # the N line wins over the free-text note
    assert nested._.brat_normalizations == ["SNOMED:68453008"]
    assert nested._.brat_notes == ["     carcinoma sin especificar"]
    for fragment in ("Dolor", "hipocondrio"):
        assert spans[("T3", fragment)]._.brat_notes == ["dolor abdominal"]
        assert spans[("T3", fragment)].kb_id_ == ""  # a free-text note is no code
    assert dict(report.notes_kept) == {"note": 3, "normalization": 1}
    assert report.other_lines == {"relation": 1, "note": 2}


def test_span_group_export_gives_back_every_t_note_and_normalisation_line(tmp_path, nlp):
    docs, _ = converted(tmp_path, nlp)
    report = export_docs_to_brat(docs, tmp_path / "out", spans_key="brat")
    written = (tmp_path / "out" / "caso.ann").read_text(encoding="utf-8").splitlines()
    assert sorted(written) == sorted(T_LINES + NOTE_LINES)
    assert report.notes == 4 and report.problems == []


def test_exporting_ents_writes_the_notes_of_the_entities_written(tmp_path, nlp):
    docs, _ = converted(tmp_path, nlp)
    export_docs_to_brat(docs, tmp_path / "out")
    assert (tmp_path / "out" / "caso.ann").read_text(encoding="utf-8").splitlines() == [T_LINES[0], NOTE_LINES[0]]


def test_a_predicted_kb_id_is_written_as_a_normalisation(tmp_path, nlp):
    doc = nlp("Dolor torácico.")
    doc.ents = [doc.char_span(0, 14, label="SINTOMA", kb_id="SNOMED:29857009")]
    export_docs_to_brat([doc], tmp_path)
    assert (tmp_path / "doc00000.ann").read_text(encoding="utf-8").splitlines() == [
        "T1\tSINTOMA 0 14\tDolor torácico", "N1\tReference T1 SNOMED:29857009\tDolor torácico"]


def test_a_note_is_a_code_only_when_it_is_one_word_with_a_digit():
    def note(text):
        return parse_ann(f"T1\tX 0 1\ta\n#1\tAnnotatorNotes T1\t{text}\n", "a", "x.ann").notes
    assert kb_id_from_notes(note("8000/6")) == "8000/6"
    assert kb_id_from_notes(note(" 387713003 ")) == "387713003"
    assert kb_id_from_notes(note("ICD10:C50.9")) == "ICD10:C50.9"
    assert kb_id_from_notes(note("TAC: tomografía")) == ""
    assert kb_id_from_notes(note("comprobar")) == ""


def test_the_bundled_sample_round_trips_its_notes(tmp_path, nlp):
    from ..conftest import SAMPLE
    originals, _ = read_brat_folder(SAMPLE / "train")
    assert sum(len(doc.notes) for doc in originals) > 0, "the sample should carry codes for the demo"
    convert_brat_folder(SAMPLE / "train", tmp_path / "s.spacy", progress=False)
    docs = list(DocBin().from_disk(tmp_path / "s.spacy").get_docs(nlp.vocab))
    export_docs_to_brat(docs, tmp_path / "out", spans_key="brat")
    back, _ = read_brat_folder(tmp_path / "out")
    assert {doc.doc_id: doc.notes for doc in back} == {doc.doc_id: doc.notes for doc in originals}


def test_a_kb_id_that_cannot_be_a_brat_reference_is_reported_not_written(tmp_path, nlp):
    doc = nlp("Fiebre.")
    doc.ents = [doc.char_span(0, 6, label="SINTOMA", kb_id="SNOMED CT 386661006")]
    report = export_docs_to_brat([doc], tmp_path)
    assert (tmp_path / "doc00000.ann").read_text(encoding="utf-8") == "T1\tSINTOMA 0 6\tFiebre\n"
    assert [p.kind for p in report.problems] == ["kb_id"]
