"""The BRAT reader: exact offsets, every line type, every problem reported with file and line."""
from pathlib import Path

from spacy_clinical_flair.corpus.brat import (
    format_t_line,
    parse_ann,
    read_brat_document,
    read_brat_folder,
    split_at_line_breaks,
)

from ..conftest import write_pair

# \ufeff=0, Dolor 1-6, abdominal 7-16, '.'=16, \r=17, \n=18, Cáncer 19-25, de 26-28, mama 29-33, '.'=33, \n=34
BOM_CRLF_TEXT = "\ufeffDolor abdominal.\r\nCáncer de mama.\n"


def test_bom_and_crlf_are_characters(tmp_path: Path):
    assert BOM_CRLF_TEXT[1:16] == "Dolor abdominal" and BOM_CRLF_TEXT[19:33] == "Cáncer de mama"
    ann = "T1\tSINTOMA 1 16\tDolor abdominal\nT2\tENFERMEDAD 19 33\tCáncer de mama\nT3\tANATOMIA 29 33\tmama\n"
    txt = write_pair(tmp_path, "doc", BOM_CRLF_TEXT, ann)
    doc = read_brat_document(txt, "doc")
    assert doc.text == BOM_CRLF_TEXT  # BOM kept, \r\n kept
    assert [(e.id, e.label, e.fragments) for e in doc.entities] == [
        ("T1", "SINTOMA", ((1, 16),)), ("T2", "ENFERMEDAD", ((19, 33),)), ("T3", "ANATOMIA", ((29, 33),))]
    assert doc.problems == []


def test_every_line_type_is_counted_or_kept_and_only_t_lines_are_entities():
    text = "Dolor en rodilla derecha."
    ann = "\n".join([
        "T1\tSINTOMA 0 24\tDolor en rodilla derecha",
        "T2\tANATOMIA 9 24\trodilla derecha",
        "R1\tLocation Arg1:T1 Arg2:T2",
        "E1\tFinding:T1",
        "A1\tNegated T1",
        "M1\tUncertain T1",
        "N1\tReference T2 SNOMED:72696002\trodilla",
        "#1\tAnnotatorNotes T1\tcomprobar",
        "*\tEquiv T1 T2",
        "",
    ])
    doc = parse_ann(ann, text, "x.ann")
    assert [e.id for e in doc.entities] == ["T1", "T2"]
    assert dict(doc.other_lines) == {"relation": 1, "event": 1, "attribute": 2, "equivalence": 1}
    assert [(n.kind, n.target) for n in doc.notes] == [("normalization", "T2"), ("note", "T1")]  # kept
    assert doc.problems == [] and doc.t_lines == 2


def test_malformed_lines_are_reported_with_line_numbers_and_skipped():
    text = "Fiebre y tos."
    ann = "T1\tSINTOMA 0 6\tFiebre\ngarbage here\nT2\tSINTOMA x 12\ttos\nT3\tSINTOMA 9 12\ttos\n"
    doc = parse_ann(ann, text, "a.ann")
    assert [e.id for e in doc.entities] == ["T1", "T3"]
    assert [(p.kind, p.line) for p in doc.problems] == [("malformed_line", 2), ("malformed_line", 3)]
    assert doc.invalid_t_lines == 1  # line 3 starts with T: it is a T line that could not be read
    assert doc.t_lines == 3
    assert str(doc.problems[0]).startswith("a.ann:2: malformed_line")


def test_offsets_out_of_range_empty_and_reversed_spans_are_invalid():
    text = "Tos."  # 4 characters
    ann = "T1\tSINTOMA 0 3\tTos\nT2\tSINTOMA 2 9\tx\nT3\tSINTOMA 2 2\t\nT4\tSINTOMA 3 1\tx\n"
    doc = parse_ann(ann, text, "b.ann")
    assert [e.id for e in doc.entities] == ["T1"]
    assert [(p.kind, p.line) for p in doc.problems] == [
        ("offset_out_of_range", 2), ("empty_span", 3), ("empty_span", 4)]
    assert doc.invalid_t_lines == 3


def test_surface_mismatch_is_reported_but_offsets_win():
    doc = parse_ann("T1\tSINTOMA 0 6\tfiebre alta\n", "Fiebre alta", "c.ann")
    assert doc.entities[0].fragments == ((0, 6),)
    assert [p.kind for p in doc.problems] == ["surface_mismatch"]


def test_discontinuous_offsets_and_surface():
    text = "Dolor de tipo cólico en hipocondrio."
    # dolor 0-5, 'en hipocondrio' 21-35
    assert text[21:35] == "en hipocondrio"
    doc = parse_ann("T1\tSINTOMA 0 5;21 35\tDolor en hipocondrio\n", text)
    assert doc.entities[0].fragments == ((0, 5), (21, 35))
    assert doc.entities[0].is_discontinuous and doc.problems == []


def test_crlf_ann_file_and_missing_surface_field():
    doc = parse_ann("T1\tSINTOMA 0 3\tTos\r\nT2\tSINTOMA 0 3\r\n", "Tos")
    assert [e.id for e in doc.entities] == ["T1", "T2"] and doc.problems == []


def test_missing_ann_is_a_document_without_entities(tmp_path: Path):
    write_pair(tmp_path, "solo", "Texto sin anotar.", None)
    docs, problems = read_brat_folder(tmp_path)
    assert len(docs) == 1 and docs[0].entities == [] and not docs[0].has_ann and problems == []


def test_ann_without_txt_is_reported(tmp_path: Path):
    (tmp_path / "huerfano.ann").write_text("T1\tX 0 1\ta\n", encoding="utf-8")
    write_pair(tmp_path / "sub", "bueno", "a", "T1\tX 0 1\ta\n")
    docs, problems = read_brat_folder(tmp_path)
    assert [d.doc_id for d in docs] == ["sub/bueno"]  # relative path without extension
    assert [(p.kind, Path(p.file).name) for p in problems] == [("missing_txt", "huerfano.ann")]


def test_invalid_utf8_is_reported_and_keeps_one_character_per_bad_byte(tmp_path: Path):
    (tmp_path / "latin.txt").write_bytes("Cáncer".encode("latin-1"))  # 6 bytes, 6 characters
    (tmp_path / "latin.ann").write_bytes(b"T1\tENFERMEDAD 0 6\tC\xe1ncer\n")
    doc = read_brat_document(tmp_path / "latin.txt", "latin")
    assert len(doc.text) == 6 and doc.text[1] == "\ufffd"
    assert [p.kind for p in doc.problems][:2] == ["encoding", "encoding"]
    assert doc.entities[0].fragments == ((0, 6),)


def test_writer_splits_fragments_at_line_breaks():
    text = "dolor\r\nabdominal"
    assert split_at_line_breaks(text, (0, 16)) == [(0, 5), (7, 16)]
    assert format_t_line("T1", "SINTOMA", [(0, 16)], text) == "T1\tSINTOMA 0 5;7 16\tdolor abdominal"
