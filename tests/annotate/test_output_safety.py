"""Nothing is written through a symlink in an output folder, nor over a file the job did not write. Each test
first shows the plain primitive doing the harm to a marker file, then the project refusing."""
import json
import os

import pytest
import spacy
import srsly
from typer.testing import CliRunner

from spacy_clinical_flair.annotate.job import LOCK, MANIFEST, SUMMARY, AnnotateSettings, annotate, output_lock
from spacy_clinical_flair.cli import app
from spacy_clinical_flair.corpus.export import OutputNotEmpty, export_docs_to_brat
from spacy_clinical_flair.corpus.safe_files import UnsafeOutput, remove_path, write_atomic, write_new_file

MARKER_TEXT = "precious data\n"


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "elsewhere" / "precious.txt"
    path.parent.mkdir()
    path.write_text(MARKER_TEXT, encoding="utf-8")
    return path


def notes(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.txt").write_text("Paciente con fiebre.", encoding="utf-8")
    (folder / "b.txt").write_text("Niega dolor.", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def blank_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("blank") / "pipeline"
    spacy.blank("es").to_disk(folder)
    return folder


def test_the_lock_is_not_opened_through_a_symlink(tmp_path, marker):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).symlink_to(marker)
    with open(out / LOCK, "a+", encoding="utf-8") as handle:  # the old way: truncates and writes the pid there
        handle.seek(0)
        handle.truncate()
        handle.write("pid 1")
    assert marker.read_text(encoding="utf-8") == "pid 1"
    marker.write_text(MARKER_TEXT, encoding="utf-8")
    with pytest.raises(UnsafeOutput, match="symlink"):
        with output_lock(out):
            pass
    assert marker.read_text(encoding="utf-8") == MARKER_TEXT


@pytest.mark.parametrize("name", [MANIFEST, SUMMARY])
def test_manifest_and_summary_are_not_written_through_a_symlink(tmp_path, marker, blank_dir, name):
    (tmp_path / "link2").symlink_to(marker)  # the old way: srsly.write_json follows a symlink
    srsly.write_json(tmp_path / "link2", {"job": 1})
    assert json.loads(marker.read_text(encoding="utf-8")) == {"job": 1}
    marker.write_text(MARKER_TEXT, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(marker)
    settings = AnnotateSettings(progress=False)
    with pytest.raises(UnsafeOutput, match="symlink"):
        annotate(spacy.load(blank_dir), str(blank_dir), notes(tmp_path / "notes"), out, settings)
    assert marker.read_text(encoding="utf-8") == MARKER_TEXT
    settings.resume = False  # starting afresh removes the link itself, then writes real files
    (out / name).unlink()
    summary = annotate(spacy.load(blank_dir), str(blank_dir), tmp_path / "notes", out, settings)
    assert summary.documents == 2 and not (out / name).is_symlink()
    assert marker.read_text(encoding="utf-8") == MARKER_TEXT


def test_no_resume_removes_a_shard_that_is_a_symlink_to_a_folder(tmp_path, marker, blank_dir):
    out = tmp_path / "out"
    settings = AnnotateSettings(progress=False, output_format="brat")
    annotate(spacy.load(blank_dir), str(blank_dir), notes(tmp_path / "notes"), out, settings)
    remove_path(out / "shard-00000")
    (out / "shard-00000").symlink_to(marker.parent, target_is_directory=True)
    settings.resume = False
    summary = annotate(spacy.load(blank_dir), str(blank_dir), tmp_path / "notes", out, settings)
    assert summary.documents == 2 and (out / "shard-00000").is_dir() and not (out / "shard-00000").is_symlink()
    assert sorted(p.name for p in marker.parent.iterdir()) == ["precious.txt"]


def test_write_atomic_replaces_a_symlink_instead_of_writing_through_it(tmp_path, marker):
    link = tmp_path / "out.json"
    link.symlink_to(marker)
    write_atomic(link, lambda tmp: tmp.write_text("new", encoding="utf-8"))
    assert not link.is_symlink() and link.read_text(encoding="utf-8") == "new"
    assert marker.read_text(encoding="utf-8") == MARKER_TEXT


def test_write_new_file_refuses_symlinks_existing_files_and_symlinked_folders(tmp_path, marker):
    (tmp_path / "link.txt").symlink_to(marker)
    with pytest.raises(UnsafeOutput, match="symlink"):
        write_new_file(tmp_path / "link.txt", b"x", overwrite=True)
    (tmp_path / "sub").symlink_to(marker.parent, target_is_directory=True)
    with pytest.raises(UnsafeOutput, match="symlink"):
        write_new_file(tmp_path / "sub" / "new.txt", b"x", root=tmp_path)
    (tmp_path / "plain.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UnsafeOutput, match="already exists"):
        write_new_file(tmp_path / "plain.txt", b"x")
    write_new_file(tmp_path / "plain.txt", b"x", overwrite=True)
    assert (tmp_path / "plain.txt").read_bytes() == b"x"
    os.mkfifo(tmp_path / "pipe.txt")  # opening it to write would wait for a reader for ever
    with pytest.raises(UnsafeOutput, match="not a regular file"):
        write_new_file(tmp_path / "pipe.txt", b"x", overwrite=True)
    assert marker.read_text(encoding="utf-8") == MARKER_TEXT and not (marker.parent / "new.txt").exists()


def two_docs():
    nlp = spacy.blank("es")
    docs = []
    for doc_id, text in (("a", "Paciente con fiebre."), ("b", "Niega dolor.")):
        doc = nlp(text)
        doc.ents = [doc[0:1].char_span(0, len(doc[0].text), label="X")]
        doc.user_data["doc_id"] = doc_id
        docs.append(doc)
    return docs


def test_export_brat_refuses_a_folder_with_files_and_never_writes_through_a_symlink(tmp_path, marker):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").symlink_to(marker)
    (out / "a.txt").write_bytes(b"overwritten")  # the old way: Path.write_bytes follows the link
    assert marker.read_bytes() == b"overwritten"
    marker.write_text(MARKER_TEXT, encoding="utf-8")
    with pytest.raises(OutputNotEmpty, match="--overwrite"):
        export_docs_to_brat(two_docs(), out)
    report = export_docs_to_brat(two_docs(), out, overwrite=True)
    assert report.documents == 1 and [p.kind for p in report.problems] == ["symlink"]
    assert "symlink" in report.summary()
    assert marker.read_text(encoding="utf-8") == MARKER_TEXT
    assert (out / "b.ann").read_text(encoding="utf-8") == "T1\tX 0 5\tNiega\n"  # the first word of "Niega dolor."


def test_export_brat_cli_says_what_to_do_with_a_non_empty_folder(tmp_path):
    from spacy.tokens import DocBin

    DocBin(store_user_data=True, docs=two_docs()).to_disk(tmp_path / "docs.spacy")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("keep", encoding="utf-8")
    result = CliRunner().invoke(app, ["export-brat", str(tmp_path / "docs.spacy"), str(tmp_path / "out")])
    assert result.exit_code == 2 and "--overwrite" in result.output
    result = CliRunner().invoke(app, ["export-brat", str(tmp_path / "docs.spacy"), str(tmp_path / "out"),
                                      "--overwrite"])
    assert result.exit_code == 0 and "documents written  2" in result.output
    assert (tmp_path / "out" / "old.txt").read_text(encoding="utf-8") == "keep"
