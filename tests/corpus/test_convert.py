"""BRAT folder → Docs: alignment, ents, span group, doc ids, sentences and the report."""
import json
from pathlib import Path

import pytest
from spacy.tokens import DocBin

from spacy_clinical_flair.corpus.convert import ConversionReport, convert_brat_folder, iter_brat_folder_docs

from ..conftest import SAMPLE, write_pair

# 'Hepatitis C' 0-11 (spaCy keeps 'C.' as one token), 'tiroid' 19-25 inside 'hipotiroidismo' (15-29)
TEXT_SPLIT = "Hepatitis C. Y hipotiroidismo."


@pytest.fixture
def tricky_folder(tmp_path: Path) -> Path:
    assert TEXT_SPLIT[0:11] == "Hepatitis C" and TEXT_SPLIT[19:25] == "tiroid"
    write_pair(tmp_path, "a/split", TEXT_SPLIT,
               "T1\tENFERMEDAD 0 11\tHepatitis C\nT2\tANATOMIA 19 25\ttiroid\n")
    # nested + same extent + crossing + discontinuous + invalid + a relation, in one document
    text = "cáncer de mama y dolor torácico intenso. Dolor de tipo cólico en hipocondrio."
    assert text[41:46] == "Dolor" and text[62:76] == "en hipocondrio"
    write_pair(tmp_path, "b/mixed", text, "\n".join([
        "T1\tENFERMEDAD 0 14\tcáncer de mama",
        "T2\tANATOMIA 10 14\tmama",
        "T3\tSINTOMA 0 14\tcáncer de mama",
        "T4\tSINTOMA 17 31\tdolor torácico",
        "T5\tSINTOMA 23 39\ttorácico intenso",
        "T6\tSINTOMA 41 46;62 76\tDolor en hipocondrio",
        "T7\tSINTOMA 70 999\tx",
        "R1\tRel Arg1:T1 Arg2:T2",
        "",
    ]))
    write_pair(tmp_path, "c/bom", "\ufeffFiebre.", "T1\tSINTOMA 1 7\tFiebre\n")
    write_pair(tmp_path, "d/empty", "Sin anotaciones.", None)
    return tmp_path


def convert(folder, tokenizer="clinical"):
    report = ConversionReport()
    docs = {doc.user_data["doc_id"]: doc
            for doc in iter_brat_folder_docs(folder, report, progress=False, tokenizer=tokenizer)}
    return docs, report


def test_tokens_are_split_at_entity_edges(tricky_folder):
    docs, report = convert(tricky_folder, tokenizer="default")
    doc = docs["a/split"]
    assert doc.text == TEXT_SPLIT
    assert [t.text for t in doc] == ["Hepatitis", "C", ".", "Y", "hipo", "tiroid", "ismo", "."]
    assert [(e.text, e.label_) for e in doc.ents] == [("Hepatitis C", "ENFERMEDAD"), ("tiroid", "ANATOMIA")]
    assert [(s.text, s.label_, s.id_) for s in doc.spans["brat"]] == [
        ("Hepatitis C", "ENFERMEDAD", "T1"), ("tiroid", "ANATOMIA", "T2")]
    assert report.tokens_split == 2 + 1  # these two, and "\ufeffFiebre" in c/bom


def test_the_clinical_tokenizer_needs_fewer_splits(tricky_folder):
    """It splits 'C.' itself, so only 'hipotiroidismo' and the BOM token need the converter."""
    docs, report = convert(tricky_folder)
    assert [t.text for t in docs["a/split"]] == ["Hepatitis", "C", ".", "Y", "hipo", "tiroid", "ismo", "."]
    assert [(e.text, e.label_) for e in docs["a/split"].ents] == [("Hepatitis C", "ENFERMEDAD"), ("tiroid", "ANATOMIA")]
    assert report.tokens_split == 2


def test_flattening_outcomes_and_span_group(tricky_folder):
    docs, report = convert(tricky_folder)
    doc = docs["b/mixed"]
    assert [(e.start_char, e.end_char, e.label_, e.id_) for e in doc.ents] == [
        (0, 14, "ENFERMEDAD", "T1"), (23, 39, "SINTOMA", "T5")]
    assert [s.id_ for s in doc.spans["brat"]] == ["T1", "T2", "T3", "T4", "T5", "T6", "T6"]
    assert [s.text for s in doc.spans["brat"] if s.id_ == "T6"] == ["Dolor", "en hipocondrio"]


def test_report_accounts_for_every_t_line(tricky_folder):
    _, report = convert(tricky_folder)
    assert report.documents == 4 and report.documents_without_ann == 1
    assert report.t_lines == 2 + 7 + 1
    assert dict(report.outcomes) == {"in_ents": 2 + 2 + 1, "nested": 1, "same_extent": 1, "crossing": 1,
                                     "discontinuous": 1, "invalid": 1}
    assert report.is_consistent
    assert report.other_lines["relation"] == 1
    assert report.problems_by_kind == {"discontinuous": 1, "offset_out_of_range": 1}
    assert report.spans_in_group == 2 + 7 + 1


def test_bom_is_its_own_token_and_doc_ids_are_relative_paths(tricky_folder):
    docs, _ = convert(tricky_folder)
    assert sorted(docs) == ["a/split", "b/mixed", "c/bom", "d/empty"]
    bom = docs["c/bom"]
    assert bom[0].text == "\ufeff" and [(e.text, e.start_char) for e in bom.ents] == [("Fiebre", 1)]
    assert list(docs["d/empty"].ents) == []


def test_docbin_keeps_everything(tricky_folder, tmp_path, nlp):
    out = tmp_path / "out" / "train.spacy"
    _, report = convert_brat_folder(tricky_folder, out, progress=False)
    docs = list(DocBin().from_disk(out).get_docs(nlp.vocab))
    assert len(docs) == 4
    mixed = next(d for d in docs if d.user_data["doc_id"] == "b/mixed")
    assert [e.id_ for e in mixed.ents] == ["T1", "T5"] and len(mixed.spans["brat"]) == 7
    assert mixed.has_annotation("SENT_START")
    assert sum(len(d.ents) for d in docs) == report.outcomes["in_ents"]


def test_report_json(tricky_folder, tmp_path):
    _, report = convert_brat_folder(tricky_folder, progress=False)
    report.write_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["entities_in"] == 10 and data["all_entities_accounted_for"] is True
    assert data["problems"][0]["line"] == 7 and data["problems"][0]["kind"] == "offset_out_of_range"


def count_t_lines(folder: Path) -> int:
    return sum(line.startswith("T") for ann in folder.glob("*.ann")
               for line in ann.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_bundled_sample_converts_cleanly(split):
    folder = SAMPLE / split
    docs, report = convert(folder)
    assert report.t_lines == count_t_lines(folder) and report.is_consistent
    assert set(report.problems_by_kind) <= {"discontinuous"} and report.outcomes["invalid"] == 0
    assert report.problems_by_kind["discontinuous"] == report.outcomes["discontinuous"]
    for doc in docs.values():
        for ent in doc.ents:  # no sentence boundary inside an entity
            assert all(not token.is_sent_start for token in ent[1:])
        assert all(not sent[0].is_space for sent in doc.sents)


def test_bundled_sample_has_what_its_readme_promises():
    txts = sorted(SAMPLE.glob("*/*.txt"))
    raw = [path.read_bytes() for path in txts]
    assert len(txts) >= 60
    assert {p.parent.name for p in txts} == {"train", "dev", "test"}
    assert any(b"\r\n" in data for data in raw) and any(data.startswith(b"\xef\xbb\xbf") for data in raw)
    anns = [line.split("\t") for p in SAMPLE.glob("*/*.ann")
            for line in p.read_text(encoding="utf-8").splitlines() if line.startswith("T")]
    assert len({fields[1].split(" ")[0] for fields in anns}) >= 3
    assert any(";" in fields[1] for fields in anns)
    _, report = convert(SAMPLE / "train")
    assert report.outcomes["nested"] > 0 and report.outcomes["discontinuous"] > 0


def test_msgpack_encoders_are_looked_up_once_while_converting(tmp_path, monkeypatch):
    """DocBin.add packs with srsly, which re-reads entry points per call; conversion reads them once."""
    import srsly

    from spacy_clinical_flair.corpus.convert import convert_brat_folder, msgpack_encoders_read_once

    registry = srsly.msgpack_encoders
    lookups = []
    original = type(registry).get_entry_points
    monkeypatch.setattr(type(registry), "get_entry_points",
                        lambda self: (lookups.append(1) if self is registry else None) or original(self))
    expected = registry.get_all()
    lookups.clear()
    for name in ("a", "b", "c"):
        write_pair(tmp_path / "corpus", name, "Fiebre alta.\nTos.", "T1\tSINTOMA 0 6\tFiebre\n")
    docbin, report = convert_brat_folder(tmp_path / "corpus", progress=False)
    assert len(docbin) == 3 and report.documents == 3
    assert len(lookups) == 1  # not once per pack (3 documents x 2-3 packs each)
    assert "get_all" not in vars(registry)  # srsly is as it was afterwards
    registry.get_all()
    assert len(lookups) == 2
    with msgpack_encoders_read_once():
        with msgpack_encoders_read_once():  # nesting is harmless
            assert registry.get_all().keys() == expected.keys()
        assert "get_all" in vars(registry)
    assert "get_all" not in vars(registry)
