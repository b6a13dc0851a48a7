"""annotate, convert and export-brat never lose or misplace a document: each case shows the unchecked
primitive doing harm (the "live" half), then the command reporting the problem and going on."""
import json
import os
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from spacy_clinical_flair.annotate.job import AnnotateSettings, OutputInUse, annotate, output_lock
from spacy_clinical_flair.cli import app
from spacy_clinical_flair.corpus.brat import write_brat_document
from spacy_clinical_flair.corpus.convert import convert_brat_folder
from spacy_clinical_flair.corpus.export import export_docs_to_brat

runner = CliRunner()
TEXT = "Paciente con fiebre alta y tos."


@pytest.fixture(scope="module")
def nlp():
    """A fast rule-based pipeline: annotate works with any pipeline, and these tests are about the files."""
    nlp = spacy.blank("es")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "SINTOMA", "pattern": "fiebre"},
                                               {"label": "SINTOMA", "pattern": "tos"}])
    return nlp


def jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def settings(**kw):
    return AnnotateSettings(**{"output_format": "brat", "shard_size": 10, "progress": False, **kw})


def written_docs(output: Path):
    """Every .txt under the output's shard folders, relative to the output."""
    return sorted(p.relative_to(output).as_posix() for p in output.rglob("*.txt"))


def test_brat_ids_that_escape_or_repeat_are_renamed_inside_the_output(tmp_path, nlp):
    outside = tmp_path / "outside"
    write_brat_document(tmp_path / "out0", "../outside", TEXT, [])  # live: the unchecked writer escapes
    assert outside.with_suffix(".txt").exists()
    records = [{"id": str(tmp_path / "abs"), "text": TEXT}, {"id": "../../climb", "text": TEXT},
               {"id": "same", "text": TEXT + " 1"}, {"id": "same", "text": TEXT + " 2"},
               {"id": "SAME", "text": TEXT + " 3"}, {"id": "ok/nested", "text": TEXT}]
    out = tmp_path / "out"
    summary = annotate(nlp, "rules", jsonl(tmp_path / "in.jsonl", records), out, settings())
    assert not (tmp_path / "abs.txt").exists() and not (tmp_path / "climb.txt").exists()
    files = written_docs(out)
    assert len(files) == 6 == summary.documents and all(f.startswith("shard-00000/") for f in files)
    assert "shard-00000/same.txt" in files and "shard-00000/ok/nested.txt" in files
    texts = sorted((out / f).read_text(encoding="utf-8") for f in files)
    assert texts == sorted(r["text"] for r in records)  # nothing overwritten: every document once
    assert len(summary.renamed) == 4 and all("was written as" in r["problem"] for r in summary.renamed)


def test_bad_ids_and_files_are_reported_never_fatal(tmp_path, nlp):
    records = [{"id": "nul\x00id", "text": TEXT}, {"id": "x" * 300, "text": TEXT}, {"id": "fine", "text": TEXT}]
    out = tmp_path / "out"
    summary = annotate(nlp, "rules", jsonl(tmp_path / "in.jsonl", records), out, settings())
    assert summary.documents == 3 and len(written_docs(out)) == 3 and len(summary.renamed) == 2
    assert not list(out.glob(".tmp-*"))
    folder = tmp_path / "notes"
    (folder / "x.txt").mkdir(parents=True)  # a folder named like a note
    (folder / "good.txt").write_text(TEXT, encoding="utf-8")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as handle:  # a Latin-1 file name
        handle.write(TEXT.encode("utf-8"))
    summary = annotate(nlp, "rules", folder, tmp_path / "out2", settings(output_format="jsonl"))
    lines = [json.loads(line) for line in (tmp_path / "out2" / "shard-00000.jsonl").read_text().splitlines()]
    assert sorted(line["id"] for line in lines) == ["caf\ufffd", "good"] and summary.documents == 2


def test_resume_refuses_a_changed_input_and_shards_without_manifest(tmp_path, nlp):
    records = [{"id": f"d{i}", "text": f"{TEXT} {i}"} for i in range(6)]
    source, out = jsonl(tmp_path / "in.jsonl", records), tmp_path / "out"
    annotate(nlp, "rules", source, out, settings(output_format="jsonl", shard_size=2))
    jsonl(source, [{"id": "new", "text": TEXT}] + records)  # one document added at the front
    with pytest.raises(ValueError, match="the input changed since the shards"):
        annotate(nlp, "rules", source, out, settings(output_format="jsonl", shard_size=2))
    summary = annotate(nlp, "rules", source, out, settings(output_format="jsonl", shard_size=2, resume=False))
    ids = [json.loads(line)["id"] for p in sorted(out.glob("shard-*.jsonl")) for line in p.read_text().splitlines()]
    assert ids == ["new"] + [r["id"] for r in records] and summary.documents == 7
    (out / "annotate.json").unlink()
    with pytest.raises(ValueError, match="holds shards but no annotate.json"):
        annotate(nlp, "rules", source, out, settings(output_format="jsonl", shard_size=2))


def test_a_truncated_shard_is_redone_on_resume(tmp_path, nlp):
    records = [{"id": f"d{i}", "text": f"{TEXT} {i}"} for i in range(6)]
    source, out = jsonl(tmp_path / "in.jsonl", records), tmp_path / "out"
    annotate(nlp, "rules", source, out, settings(output_format="jsonl", shard_size=2))
    whole = (out / "shard-00001.jsonl").read_bytes()
    (out / "shard-00001.jsonl").write_bytes(whole[: len(whole) // 2])
    summary = annotate(nlp, "rules", source, out, settings(output_format="jsonl", shard_size=2))
    assert summary.shards_reused == 2 and (out / "shard-00001.jsonl").read_bytes() == whole


def test_two_jobs_never_write_one_folder(tmp_path, nlp):
    source, out = jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": TEXT}]), tmp_path / "out"
    with output_lock(out):  # another job holds the folder
        (out / "shard-00000.jsonl").write_text("theirs\n")
        for resume in (True, False):
            with pytest.raises(OutputInUse, match="in use by another annotate job"):
                annotate(nlp, "rules", source, out, settings(output_format="jsonl", resume=resume))
        assert (out / "shard-00000.jsonl").read_text() == "theirs\n"  # --no-resume deleted nothing
    result = runner.invoke(app, ["annotate", "--help"])
    assert result.exit_code == 0


def test_convert_reports_bad_files_and_goes_on(tmp_path):
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "good.txt").write_text(TEXT, encoding="utf-8")
    (folder / "good.ann").write_text("T1\tSINTOMA 13 19\tfiebre\n", encoding="utf-8")
    (folder / "dir_ann.txt").write_text(TEXT, encoding="utf-8")
    (folder / "dir_ann.ann").mkdir()
    (folder / "huge.txt").write_text(TEXT, encoding="utf-8")
    (folder / "huge.ann").write_text(f"T1\tSINTOMA 13 {'9' * 5000}\tfiebre\nT2\tSINTOMA 27 30\ttos\n", encoding="utf-8")
    (folder / "folder.txt").mkdir()
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as handle:
        handle.write(TEXT.encode("utf-8"))
    docbin, report = convert_brat_folder(folder, tmp_path / "out.spacy", progress=False)
    kinds = report.problems_by_kind
    assert report.documents == 4 and kinds["unreadable"] == 2 and kinds["offset_out_of_range"] == 1
    assert kinds["file_name"] == 1
    docs = {doc.user_data["doc_id"]: doc for doc in docbin.get_docs(spacy.blank("es").vocab)}
    assert sorted(docs) == ["caf\ufffd", "dir_ann", "good", "huge"]
    assert [e.text for e in docs["huge"].ents] == ["tos"] and [e.text for e in docs["good"].ents] == ["fiebre"]
    report.write_json(tmp_path / "report.json")  # the report of a non-UTF-8 name is writable JSON
    result = runner.invoke(app, ["convert", str(folder), str(tmp_path / "cli.spacy"), "--no-progress"])
    assert result.exit_code == 0, result.output


def test_export_brat_never_overwrites_a_document(tmp_path):
    nlp = spacy.blank("es")
    docs = [nlp(f"{TEXT} {i}") for i in range(4)]
    docs[0].user_data["doc_id"] = "same"
    docs[1].user_data["doc_id"] = "same"
    docs[2].user_data["doc_id"] = "doc00003"  # takes the fallback name of the id-less fourth document
    live = tmp_path / "live"
    for doc in docs[:2]:  # live: the writer itself overwrites a name written twice
        write_brat_document(live, "same", doc.text, [])
    assert len(list(live.glob("*.txt"))) == 1
    report = export_docs_to_brat(docs, tmp_path / "out")
    texts = sorted(p.read_text(encoding="utf-8") for p in (tmp_path / "out").glob("*.txt"))
    assert texts == sorted(doc.text for doc in docs) and report.documents == 4
    assert [p.kind for p in report.problems] == ["doc_id", "doc_id"]
    assert "doc00003-2" in report.problems[1].message
