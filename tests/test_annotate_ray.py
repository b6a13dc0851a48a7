"""annotate --engine ray: a local Ray with 2 workers gives what the local engine gives; a worker that dies
once mid-run still leaves complete, duplicate-free output."""
import importlib
import os
import sys
from pathlib import Path

import pytest
import spacy

from spacy_clinical_flair.annotate import AnnotateSettings, annotate

from .test_annotate import good_texts, nlp, pipeline_dir, read_output, txt_input  # noqa: F401 (fixtures)

ray = pytest.importorskip("ray")
pytest.importorskip("pyarrow")
pytestmark = pytest.mark.ray

CRASH_MODULE = '''
import os
from pathlib import Path
from spacy.language import Language

@Language.component("crash_worker_once")
def crash_worker_once(doc):
    """Kills its process the first time any process runs it (a marker file remembers), as a dying node would."""
    marker = Path(os.environ["CRASH_MARKER"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    return doc


if not Language.has_factory("fail_on_boom"):  # the pipeline's test component (tests/test_annotate.py), for workers
    @Language.component("fail_on_boom")
    def fail_on_boom(doc):
        if "BOOM" in doc.text:
            raise RuntimeError("this note breaks the pipeline")
        return doc
'''


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    """A local Ray whose workers can import the test's crash component (via sitecustomize on PYTHONPATH)."""
    code = tmp_path_factory.mktemp("raycode")
    (code / "crash_component.py").write_text(CRASH_MODULE, encoding="utf-8")
    (code / "sitecustomize.py").write_text("import crash_component  # noqa\n", encoding="utf-8")
    marker = code / "crashed"
    old = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")])
    os.environ["CRASH_MARKER"] = str(marker)
    sys.path.insert(0, str(code))
    importlib.import_module("crash_component")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield marker
    ray.shutdown()
    os.environ.clear()
    os.environ.update(old)


def files(root: Path):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and p.name not in ("summary.json", "annotate.json")}


@pytest.mark.parametrize("output_format", ["jsonl", "brat", "parquet", "spacy"])
def test_ray_with_two_workers_equals_local(tmp_path, ray_session, nlp, pipeline_dir, good_texts, output_format):
    from spacy_clinical_flair.annotate_ray import annotate_with_ray

    source = txt_input(tmp_path / "notes", good_texts)
    settings = AnnotateSettings(output_format=output_format, shard_size=3, max_chars=5000, progress=False)
    local = annotate(nlp, str(pipeline_dir), source, tmp_path / "local", settings)
    distributed = annotate_with_ray(str(pipeline_dir), source, tmp_path / "ray", settings, workers=2)
    assert read_output(tmp_path / "ray", output_format) == read_output(tmp_path / "local", output_format)
    if output_format in ("jsonl", "brat", "parquet"):
        assert files(tmp_path / "ray") == files(tmp_path / "local")
    assert (distributed.documents, distributed.entities, distributed.skipped) == (
        local.documents, local.entities, local.skipped)


def test_a_worker_that_dies_once_loses_and_duplicates_nothing(tmp_path, ray_session, nlp, pipeline_dir, good_texts):
    from spacy_clinical_flair.annotate_ray import annotate_with_ray

    marker = ray_session
    crashing = spacy.load(pipeline_dir)
    crashing.add_pipe("crash_worker_once")
    crashing.to_disk(tmp_path / "crashing")
    source = txt_input(tmp_path / "notes", good_texts)
    settings = AnnotateSettings(shard_size=3, max_chars=5000, progress=False)
    local = annotate(nlp, str(pipeline_dir), source, tmp_path / "local", settings)
    summary = annotate_with_ray(str(tmp_path / "crashing"), source, tmp_path / "ray", settings, workers=2)
    assert marker.exists(), "a worker process should have died once"
    assert int(marker.read_text()) != os.getpid()
    expected = read_output(tmp_path / "local", "jsonl")
    ids = []
    for shard in sorted((tmp_path / "ray").glob("shard-*.jsonl")):
        ids += [line.split('"', 4)[3] for line in shard.read_text(encoding="utf-8").splitlines()]
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))  # every document once
    assert read_output(tmp_path / "ray", "jsonl") == expected
    assert summary.documents == local.documents


def test_cli_engine_ray(tmp_path, ray_session, pipeline_dir, good_texts):
    from typer.testing import CliRunner

    from spacy_clinical_flair.cli import app

    source = txt_input(tmp_path / "notes", good_texts)
    result = CliRunner().invoke(app, ["annotate", str(pipeline_dir), str(source), str(tmp_path / "out"), "--engine",
                                      "ray", "--workers", "2", "--shard-size", "5", "--max-chars", "5000",
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    assert f"documents annotated {len(good_texts)}" in result.output and "skipped zz_boom" in result.output
