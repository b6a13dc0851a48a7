"""The annotate command: every input kind and output format, bad documents skipped, resume after a crash."""
import json
import shutil
from pathlib import Path

import pytest
import spacy
import torch
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_clinical_flair.annotate.job import AnnotateSettings, annotate
from spacy_clinical_flair.cli import app
from spacy_clinical_flair.ml.precision import bf16_supported

from .. import pipeline_components  # noqa: F401 (registers fail_on_boom)
from ..conftest import SAMPLE

pyarrow = pytest.importorskip("pyarrow")
import pyarrow.parquet as parquet  # noqa: E402


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory, tiny_tagger_path):
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": "clinical_flair.tokenizer.v1"}}})
    nlp.add_pipe("clinical_sentencizer")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path)})
    nlp.add_pipe("fail_on_boom")
    nlp.initialize()
    folder = tmp_path_factory.mktemp("annotate") / "pipeline"
    nlp.to_disk(folder)
    return folder


@pytest.fixture(scope="module")
def nlp(pipeline_dir):
    return spacy.load(pipeline_dir)


@pytest.fixture(scope="module")
def good_texts():
    """id -> text of the sample's dev notes."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted((SAMPLE / "dev").glob("*.txt"))}


def txt_input(folder: Path, good_texts) -> Path:
    """The good notes (some in a subfolder, with their .ann beside them) and four bad documents."""
    for number, (doc_id, text) in enumerate(good_texts.items()):
        target = folder / ("sub" if number % 2 else "") / f"{doc_id}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        shutil.copy(SAMPLE / "dev" / f"{doc_id}.ann", target.with_suffix(".ann"))
    (folder / "zz_latin1.txt").write_bytes("Paciente con fiebre y años".encode("latin-1"))
    (folder / "zz_empty.txt").write_text("  \n", encoding="utf-8")
    (folder / "zz_long.txt").write_text("fiebre " * 2000, encoding="utf-8")
    (folder / "zz_boom.txt").write_text("Nota BOOM con fiebre.", encoding="utf-8")
    return folder


BAD = {"zz_latin1": "not UTF-8", "zz_empty": "empty document", "zz_long": "more than --max-chars",
       "zz_boom": "the pipeline failed"}


def expected_entities(nlp, good_texts, ids):
    """What the pipeline predicts for each id, computed directly (not through annotate)."""
    return {doc_id: [[e.start_char, e.end_char, e.label_] for e in nlp(good_texts[Path(doc_id).name]).ents]
            for doc_id in ids}


def read_output(folder: Path, output_format: str):
    """id -> [[start, end, label], ...] from the shards of any format."""
    found = {}
    if output_format == "jsonl":
        for shard in sorted(folder.glob("shard-*.jsonl")):
            for line in shard.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                found[record["id"]] = [[e["start"], e["end"], e["label"]] for e in record["entities"]]
    elif output_format == "parquet":
        for shard in sorted(folder.glob("shard-*.parquet")):
            for row in parquet.read_table(shard).to_pylist():
                found.setdefault(row["id"], []).append([row["start"], row["end"], row["label"]])
    elif output_format == "brat":
        from spacy_clinical_flair.corpus.brat import parse_ann

        for txt in sorted(folder.glob("shard-*/**/*.txt")):
            doc_id = txt.relative_to(next(p for p in txt.parents if p.name.startswith("shard-"))).with_suffix("")
            brat = parse_ann(txt.with_suffix(".ann").read_text(encoding="utf-8"), txt.read_text(encoding="utf-8"))
            found[doc_id.as_posix()] = [[e.fragments[0][0], e.fragments[-1][1], e.label] for e in brat.entities]
    elif output_format == "deid":  # the original offsets of each replaced entity, from the mapping reports
        for report in sorted(folder.glob("shard-*/**/*.json")):
            data = json.loads(report.read_text(encoding="utf-8"))
            found[data["id"]] = [[r["start"], r["end"], r["label"]] for r in data["replacements"]]
    else:
        for shard in sorted(folder.glob("shard-*.spacy")):
            for doc in DocBin().from_disk(shard).get_docs(spacy.blank("es").vocab):
                found[doc.user_data["doc_id"]] = [[e.start_char, e.end_char, e.label_] for e in doc.ents]
    return found


@pytest.mark.parametrize("output_format", ["jsonl", "brat", "parquet", "spacy"])
def test_every_format_holds_exactly_the_pipelines_entities(tmp_path, nlp, pipeline_dir, good_texts, output_format):
    source = txt_input(tmp_path / "notes", good_texts)
    settings = AnnotateSettings(output_format=output_format, shard_size=4, max_chars=5000, progress=False)
    summary = annotate(nlp, str(pipeline_dir), source, tmp_path / "out", settings)
    ids = [path.relative_to(source).with_suffix("").as_posix() for path in sorted(source.rglob("*.txt"))
           if not path.name.startswith("zz_")]
    expected = expected_entities(nlp, good_texts, ids)
    found = read_output(tmp_path / "out", output_format)
    if output_format == "parquet":  # one row per entity: documents without entities have no rows
        expected = {doc_id: ents for doc_id, ents in expected.items() if ents}
    assert found == expected and sum(map(len, expected.values())) > 0
    assert summary.documents == len(ids) and summary.entities == sum(map(len, expected.values()))
    assert {item["id"]: item["problem"] for item in summary.skipped}.keys() == BAD.keys()
    for item in summary.skipped:
        assert BAD[item["id"]] in item["problem"]
    assert summary.shards == -(-(len(ids) + len(BAD)) // 4)
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["documents"] == len(ids)


def test_jsonl_spacy_and_parquet_inputs_give_the_same_entities(tmp_path, nlp, pipeline_dir, good_texts):
    ids = list(good_texts)[:6]
    jsonl = tmp_path / "notes.jsonl"
    jsonl.write_text("".join(json.dumps({"note_id": i, "body": good_texts[i]}) + "\n" for i in ids)
                     + '{"note_id": "no-text"}\n', encoding="utf-8")
    table = pyarrow.Table.from_pylist([{"id": i, "text": good_texts[i]} for i in ids])
    parquet.write_table(table, tmp_path / "notes.parquet")
    docbin = DocBin(store_user_data=True)
    for i in ids:
        doc = spacy.blank("es").make_doc(good_texts[i])
        doc.user_data["doc_id"] = i
        docbin.add(doc)
    docbin.to_disk(tmp_path / "notes.spacy")
    expected = expected_entities(nlp, good_texts, ids)
    for name, extra in (("notes.jsonl", {"id_field": "note_id", "text_field": "body"}), ("notes.parquet", {}),
                        ("notes.spacy", {})):
        settings = AnnotateSettings(shard_size=4, progress=False, **extra)
        summary = annotate(nlp, str(pipeline_dir), tmp_path / name, tmp_path / f"out-{name}", settings)
        assert read_output(tmp_path / f"out-{name}", "jsonl") == expected, name
    assert summary.skipped == []
    jsonl_summary = json.loads((tmp_path / "out-notes.jsonl" / "summary.json").read_text())
    assert jsonl_summary["skipped"] == [{"id": "no-text", "problem": "no string field 'body'"}]


class CrashAfter:
    """Delegates to a pipeline, and raises KeyboardInterrupt (Ctrl-C) on the pipe call number ``calls + 1``."""

    def __init__(self, nlp, calls):
        self.nlp, self.calls = nlp, calls

    def pipe(self, texts, **kwargs):
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        return self.nlp.pipe(texts, **kwargs)

    def set_error_handler(self, handler):
        self.nlp.set_error_handler(handler)


@pytest.mark.parametrize("output_format", ["jsonl", "brat"])
def test_an_interrupted_run_resumes_to_the_same_output(tmp_path, nlp, pipeline_dir, good_texts, output_format):
    source = txt_input(tmp_path / "notes", good_texts)
    settings = AnnotateSettings(output_format=output_format, shard_size=3, max_chars=5000, progress=False)
    annotate(nlp, str(pipeline_dir), source, tmp_path / "whole", settings)
    with pytest.raises(KeyboardInterrupt):
        annotate(CrashAfter(nlp, 2), str(pipeline_dir), source, tmp_path / "resumed", settings)
    written = sorted(p.name for p in (tmp_path / "resumed").glob("shard-*") if not p.name.endswith(".stats.json"))
    assert len(written) == 2, written  # the two finished shards, nothing of the third
    summary = annotate(nlp, str(pipeline_dir), source, tmp_path / "resumed", settings)
    assert summary.shards_reused == 2
    files = lambda root: {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")  # noqa: E731
                          if p.is_file() and p.name not in ("summary.json", "annotate.json")}
    assert files(tmp_path / "resumed") == files(tmp_path / "whole")


def test_another_job_in_the_same_folder_is_refused_unless_no_resume(tmp_path, nlp, pipeline_dir, good_texts):
    source = txt_input(tmp_path / "notes", good_texts)
    annotate(nlp, str(pipeline_dir), source, tmp_path / "out", AnnotateSettings(shard_size=5, progress=False))
    with pytest.raises(ValueError, match="shard_size"):
        annotate(nlp, str(pipeline_dir), source, tmp_path / "out", AnnotateSettings(shard_size=7, progress=False))
    summary = annotate(nlp, str(pipeline_dir), source, tmp_path / "out",
                       AnnotateSettings(shard_size=7, resume=False, progress=False))
    assert summary.shards_reused == 0 and not (tmp_path / "out" / "shard-00003.jsonl").exists()


def test_cli(tmp_path, pipeline_dir, good_texts):
    source = txt_input(tmp_path / "notes", good_texts)
    runner = CliRunner()
    result = runner.invoke(app, ["annotate", str(pipeline_dir), str(source), str(tmp_path / "out"), "--format",
                                 "brat", "--shard-size", "10", "--max-chars", "5000", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert f"documents annotated {len(good_texts)}" in result.output and "skipped zz_boom" in result.output
    # --precision bf16 on a CPU without bfloat16: a warning, and the same output as fp32
    again = runner.invoke(app, ["annotate", str(pipeline_dir), str(source), str(tmp_path / "out-bf16"), "--format",
                                "brat", "--shard-size", "10", "--max-chars", "5000", "--no-progress", "--precision",
                                "bf16"])
    assert again.exit_code == 0, again.output
    if not bf16_supported(torch.device("cpu")):
        assert read_output(tmp_path / "out-bf16", "brat") == read_output(tmp_path / "out", "brat")
    missing = runner.invoke(app, ["annotate", str(pipeline_dir), str(tmp_path / "nope.jsonl"), str(tmp_path / "o")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert runner.invoke(app, ["annotate", "--help"]).exit_code == 0
