"""annotate --engine ray: a local Ray with 2 workers gives what the local engine gives; a worker that dies
once mid-run still leaves complete, duplicate-free output."""
import contextlib
import os
import tempfile
from pathlib import Path

import pytest
import spacy

from spacy_clinical_flair.annotate.job import AnnotateSettings, annotate

from ..conftest import REPO
from .test_annotate import good_texts, nlp, pipeline_dir, read_output, txt_input  # noqa: F401 (fixtures)

ray = pytest.importorskip("ray")
pytest.importorskip("pyarrow")
pytestmark = pytest.mark.ray


@contextlib.contextmanager
def ray_env(ray_module, extra_paths=()):
    """A local Ray (2 CPUs) whose workers import tests/pipeline_components.py (a sitecustomize on their
    PYTHONPATH), so they know the test pipelines' components; ``extra_paths`` go on their path too. Yields the
    crash marker file that ``crash_worker_once`` uses."""
    code = Path(tempfile.mkdtemp(prefix="raycode-"))
    (code / "sitecustomize.py").write_text("import tests.pipeline_components  # noqa\n", encoding="utf-8")
    marker = code / "crashed"
    old = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(code), str(REPO), *map(str, extra_paths),
                                                os.environ.get("PYTHONPATH", "")])
    os.environ["CRASH_MARKER"] = str(marker)
    os.environ["CLINICAL_FLAIR_DEID_KEY"] = "a key shared by the driver and the workers"  # --format deid
    ray_module.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield marker
    finally:
        ray_module.shutdown()
        os.environ.clear()
        os.environ.update(old)


@pytest.fixture(scope="module")
def ray_session():
    with ray_env(ray) as marker:
        yield marker


def files(root: Path):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and p.name not in ("summary.json", "annotate.json")}


@pytest.mark.parametrize("output_format", ["jsonl", "brat", "parquet", "spacy", "deid"])
def test_ray_with_two_workers_equals_local(tmp_path, ray_session, nlp, pipeline_dir, good_texts, output_format):
    from spacy_clinical_flair.annotate.ray_engine import annotate_with_ray

    source = txt_input(tmp_path / "notes", good_texts)
    settings = AnnotateSettings(output_format=output_format, shard_size=3, max_chars=5000, progress=False)
    local = annotate(nlp, str(pipeline_dir), source, tmp_path / "local", settings)
    distributed = annotate_with_ray(str(pipeline_dir), source, tmp_path / "ray", settings, workers=2)
    assert read_output(tmp_path / "ray", output_format) == read_output(tmp_path / "local", output_format)
    if output_format in ("jsonl", "brat", "parquet", "deid"):  # deid: the same key in the driver and the workers
        assert files(tmp_path / "ray") == files(tmp_path / "local")
    assert (distributed.documents, distributed.entities, distributed.skipped) == (
        local.documents, local.entities, local.skipped)


def test_a_worker_that_dies_once_loses_and_duplicates_nothing(tmp_path, ray_session, nlp, pipeline_dir, good_texts):
    from spacy_clinical_flair.annotate.ray_engine import annotate_with_ray

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


def test_fewer_shards_than_workers_can_use_is_said(tmp_path, ray_session, nlp, pipeline_dir, good_texts):
    from spacy_clinical_flair.annotate.ray_engine import annotate_with_ray

    source = txt_input(tmp_path / "notes", good_texts)
    settings = AnnotateSettings(shard_size=1000, max_chars=5000, progress=False)  # one shard for two workers
    with pytest.warns(UserWarning, match=r"1 shard\(s\) to annotate for 2 workers.*--shard-size"):
        summary = annotate_with_ray(str(pipeline_dir), source, tmp_path / "ray", settings, workers=2)
    local = annotate(nlp, str(pipeline_dir), source, tmp_path / "local", settings)
    assert read_output(tmp_path / "ray", "jsonl") == read_output(tmp_path / "local", "jsonl")
    assert summary.documents == local.documents
