"""Docs → BRAT, and the round trip BRAT → DocBin → BRAT."""
from pathlib import Path

import pytest
from spacy.tokens import DocBin

from spacy_clinical_flair.corpus.brat import read_brat_document, read_brat_folder
from spacy_clinical_flair.corpus.convert import convert_brat_folder
from spacy_clinical_flair.corpus.export import doc_brat_entities, export_docs_to_brat

from ..conftest import SAMPLE, write_pair


def roundtrip(folder: Path, tmp_path: Path, nlp, spans_key=None):
    out = tmp_path / "c.spacy"
    convert_brat_folder(folder, out, progress=False)
    docs = list(DocBin().from_disk(out).get_docs(nlp.vocab))
    report = export_docs_to_brat(docs, tmp_path / "exported", spans_key=spans_key)
    return docs, report


@pytest.mark.parametrize("split", ["train", "test"])
def test_roundtrip_reproduces_every_entity_of_doc_ents(split, tmp_path, nlp):
    docs, report = roundtrip(SAMPLE / split, tmp_path, nlp)
    assert report.documents == len(docs) and report.problems == []
    for doc in docs:
        doc_id = doc.user_data["doc_id"]
        original_txt = (SAMPLE / split / f"{doc_id}.txt").read_bytes()
        assert (tmp_path / "exported" / f"{doc_id}.txt").read_bytes() == original_txt
        back = read_brat_document(tmp_path / "exported" / f"{doc_id}.txt", doc_id)
        assert back.problems == []
        expected = [(e.start_char, e.end_char, e.label_, e.text) for e in doc.ents]
        got = [(e.start, e.end, e.label, back.text[e.start:e.end]) for e in back.entities]
        assert got == expected


def test_span_group_export_restores_the_original_annotations(tmp_path, nlp):
    """With spans_key='brat' every original T line comes back, discontinuous ones whole, ids kept."""
    roundtrip(SAMPLE / "train", tmp_path, nlp, spans_key="brat")
    originals, _ = read_brat_folder(SAMPLE / "train")
    for original in originals:
        back = read_brat_document(tmp_path / "exported" / f"{original.doc_id}.txt", original.doc_id)
        assert [(e.id, e.label, e.fragments) for e in back.entities] == [
            (e.id, e.label, e.fragments) for e in original.entities]


def test_entity_across_a_line_break_is_written_as_brat_does_and_read_back_whole(tmp_path, nlp):
    text = "Dolor\r\nabdominal intenso."
    write_pair(tmp_path / "in", "x", text, "T1\tSINTOMA 0 5;7 16\tDolor abdominal\n")
    docs, _ = roundtrip(tmp_path / "in", tmp_path, nlp)
    assert [(e.start_char, e.end_char) for e in docs[0].ents] == [(0, 16)]
    ann = (tmp_path / "exported" / "x.ann").read_text(encoding="utf-8")
    assert ann == "T1\tSINTOMA 0 5;7 16\tDolor abdominal\n"


def test_predictions_without_doc_id_are_numbered(nlp, tmp_path):
    doc = nlp("Fiebre alta.")
    doc.ents = [doc.char_span(0, 6, label="SINTOMA")]
    report = export_docs_to_brat([doc, nlp("Nada.")], tmp_path)
    assert report.documents == 2 and report.entities == 1
    assert (tmp_path / "doc00000.ann").read_text(encoding="utf-8") == "T1\tSINTOMA 0 6\tFiebre\n"
    assert (tmp_path / "doc00001.ann").read_text(encoding="utf-8") == ""


def test_unsafe_and_duplicate_doc_ids_are_reported(nlp, tmp_path):
    docs = [nlp("a"), nlp("b"), nlp("c")]
    docs[0].user_data["doc_id"] = "../escape"
    docs[1].user_data["doc_id"] = "same"
    docs[2].user_data["doc_id"] = "same"
    report = export_docs_to_brat(docs, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.txt")) == ["doc00000.txt", "doc00002.txt", "same.txt"]
    assert [p.kind for p in report.problems] == ["doc_id", "doc_id"]
    assert not (tmp_path / "escape.txt").exists()


def test_span_ids_that_clash_are_renumbered(nlp):
    from spacy.tokens import Span
    doc = nlp("uno dos tres")
    doc.spans["p"] = [Span(doc, 0, 1, "A", span_id="T2"), Span(doc, 1, 2, "B"), Span(doc, 2, 3, "C", span_id="x")]
    assert doc_brat_entities(doc, "p") == [("T2", "A", [(0, 3)]), ("T1", "B", [(4, 7)]), ("T3", "C", [(8, 12)])]


def test_missing_span_group_is_reported(nlp, tmp_path):
    report = export_docs_to_brat([nlp("Fiebre.")], tmp_path, spans_key="brat")
    assert [p.kind for p in report.problems] == ["missing_span_group"]
    assert (tmp_path / "doc00000.ann").read_text(encoding="utf-8") == ""
