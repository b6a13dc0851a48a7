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
from spacy_clinical_flair.corpus.safe_files import UnsafeOutput

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
    (tmp_path / "out0").mkdir()
    (tmp_path / "out0" / "../outside.txt").write_bytes(TEXT.encode())  # live: a joined path escapes
    assert outside.with_suffix(".txt").exists()
    outside.with_suffix(".txt").unlink()
    with pytest.raises(UnsafeOutput, match="outside"):  # the project's writer refuses it
        write_brat_document(tmp_path / "out0", "../outside", TEXT, [])
    assert not outside.with_suffix(".txt").exists()
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
    live.mkdir()
    for doc in docs[:2]:  # live: a plain write overwrites a name written twice
        (live / "same.txt").write_text(doc.text, encoding="utf-8")
    assert len(list(live.glob("*.txt"))) == 1
    write_brat_document(tmp_path / "writer", "same", docs[0].text, [])
    with pytest.raises(UnsafeOutput, match="already exists"):  # the project's writer does not
        write_brat_document(tmp_path / "writer", "same", docs[1].text, [])
    report = export_docs_to_brat(docs, tmp_path / "out")
    texts = sorted(p.read_text(encoding="utf-8") for p in (tmp_path / "out").glob("*.txt"))
    assert texts == sorted(doc.text for doc in docs) and report.documents == 4
    assert [p.kind for p in report.problems] == ["doc_id", "doc_id"]
    assert "doc00003-2" in report.problems[1].message


def test_resume_notices_two_files_whose_contents_were_swapped(tmp_path, nlp):
    """The review's reproduction: sizes, names and the newest mtime stay the same when two notes swap places."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("Paciente con fiebre.", encoding="utf-8")
    (folder / "b.txt").write_text("Paciente con tos.", encoding="utf-8")
    out = tmp_path / "out"
    annotate(nlp, "rules", folder, out, settings(output_format="jsonl", shard_size=1))
    os.rename(folder / "a.txt", folder / "tmp.txt")
    os.rename(folder / "b.txt", folder / "a.txt")
    os.rename(folder / "tmp.txt", folder / "b.txt")
    stats = [os.stat(folder / name) for name in ("a.txt", "b.txt")]
    assert sum(s.st_size for s in stats) == len("Paciente con fiebre.") + len("Paciente con tos.")  # same total
    with pytest.raises(ValueError, match="the input changed"):
        annotate(nlp, "rules", folder, out, settings(output_format="jsonl", shard_size=1))


def test_resume_notices_a_changed_jsonl_of_the_same_size_and_mtime(tmp_path, nlp):
    source = jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "fiebre"}, {"id": "b", "text": "tos..."}])
    out = tmp_path / "out"
    annotate(nlp, "rules", source, out, settings(output_format="jsonl"))
    before = os.stat(source)
    jsonl(source, [{"id": "b", "text": "fiebre"}, {"id": "a", "text": "tos..."}])  # same bytes count
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(source).st_size == before.st_size
    with pytest.raises(ValueError, match="the input changed"):
        annotate(nlp, "rules", source, out, settings(output_format="jsonl"))


def test_a_bare_carriage_return_inside_a_jsonl_line_keeps_the_document(tmp_path, nlp):
    raw = b'{"id": "a",\r "text": "Paciente con fiebre."}\n{"id": "b", "text": "tos"}\r\n'
    assert len(raw.splitlines()) == 3  # live: splitting on \r too cuts the first record in two
    (tmp_path / "in.jsonl").write_bytes(raw)
    summary = annotate(nlp, "rules", tmp_path / "in.jsonl", tmp_path / "out", settings(output_format="jsonl"))
    lines = [json.loads(line) for line in (tmp_path / "out" / "shard-00000.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"] and summary.skipped == []
    assert [e["text"] for e in lines[0]["entities"]] == ["fiebre"]


def test_a_spacy_input_whose_user_data_is_not_a_dict_is_read_by_position(tmp_path, nlp):
    import zlib

    import srsly
    from spacy.tokens import DocBin

    docbin = DocBin(store_user_data=True, docs=[spacy.blank("es")(TEXT), spacy.blank("es")("tos")])
    message = srsly.msgpack_loads(zlib.decompress(docbin.to_bytes()))
    message["user_data"] = [srsly.msgpack_dumps([1, 2]), srsly.msgpack_dumps({"doc_id": "second"})]
    (tmp_path / "odd.spacy").write_bytes(zlib.compress(srsly.msgpack_dumps(message)))
    with pytest.raises(TypeError):  # live: spaCy's own reader
        list(DocBin(store_user_data=True).from_disk(tmp_path / "odd.spacy").get_docs(spacy.blank("es").vocab))
    with pytest.warns(UserWarning, match="not a dictionary"):
        summary = annotate(nlp, "rules", tmp_path / "odd.spacy", tmp_path / "out", settings(output_format="jsonl"))
    ids = [json.loads(line)["id"] for line in (tmp_path / "out" / "shard-00000.jsonl").read_text().splitlines()]
    assert ids == ["doc00000", "second"] and summary.documents == 2


def test_txt_entries_that_are_not_files_are_reported(tmp_path, nlp):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "good.txt").write_text(TEXT, encoding="utf-8")
    (folder / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (folder / "folder.txt").mkdir()
    os.mkfifo(folder / "pipe.txt")  # reading it would block for ever
    summary = annotate(nlp, "rules", folder, tmp_path / "out", settings(output_format="jsonl"))
    problems = {item["id"]: item["problem"] for item in summary.skipped}
    assert summary.documents == 1 and set(problems) == {"dangling", "folder", "pipe"}
    assert "symlink to nothing" in problems["dangling"] and "folder" in problems["folder"]
    assert "not a regular file" in problems["pipe"]


def test_duplicate_t_ids_are_reported(tmp_path):
    from spacy_clinical_flair.corpus.brat import parse_ann

    document = parse_ann("T1\tSINTOMA 13 19\tfiebre\nT1\tSINTOMA 27 30\ttos\n", TEXT)
    assert [e.id for e in document.entities] == ["T1", "T1"]
    assert [(p.kind, p.line) for p in document.problems] == [("duplicate_id", 2)]
