"""README's annotate command with the pipeline that ships (models/es_meddocan_flair-*.tar.gz, installed with pip
into a fresh target): on a folder of notes, locally and on Ray, in every format, every note annotated once with
exactly the entities that ``nlp.pipe`` gives."""
import os
import re
import shlex
import subprocess
import sys

import pytest
import spacy

from spacy_clinical_flair.annotate.job import AnnotateSettings, annotate

from ..conftest import REPO, SAMPLE
from ..test_shipped_pipeline import PACKAGES, readme_quickstart
from .test_annotate import read_output

pytestmark = pytest.mark.skipif(not PACKAGES, reason="no shipped package")
FORMATS = ["brat", "jsonl", "parquet", "spacy"]


def readme_annotate_command():
    """The annotate line of README's 'Annotating many documents' section, as words."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    line = re.search(r"^\.venv/bin/python -m spacy_clinical_flair annotate .*$", readme, re.M).group(0)
    return shlex.split(line)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--target", str(target), str(PACKAGES[0])], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return target


@pytest.fixture(scope="module")
def notes(tmp_path_factory):
    """id -> text: five of the sample's dev notes and README's quickstart note (MEDDOCAN's header format)."""
    folder = tmp_path_factory.mktemp("notes-src")
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted((SAMPLE / "dev").glob("*.txt"))[:5]}
    texts["readme_note"] = readme_quickstart()[1]
    for name, text in texts.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder, texts


@pytest.fixture(scope="module")
def expected(installed, notes):
    """What nlp.pipe gives, the package loaded from where pip put it."""
    name = readme_annotate_command()[4]
    package_dir = installed / name
    nlp = spacy.load(next(p for p in package_dir.iterdir() if p.is_dir() and (p / "config.cfg").is_file()))
    ids, texts = zip(*notes[1].items())
    found = {i: [[e.start_char, e.end_char, e.label_] for e in doc.ents] for i, doc in zip(ids, nlp.pipe(texts))}
    assert sum(map(len, found.values())) >= 9, "the shipped model should find README's nine entities at least"
    return nlp, found


def as_written(output_format, texts, entities):
    """The entities as each format holds them (parquet: no row for a note without entities; BRAT: a line break
    at an entity's edge is left out, as BRAT requires)."""
    from spacy_clinical_flair.corpus.brat import split_at_line_breaks

    if output_format == "parquet":
        return {i: ents for i, ents in entities.items() if ents}
    if output_format == "brat":
        out = {}
        for i, ents in entities.items():
            pieces = [split_at_line_breaks(texts[i], (s, e)) for s, e, _ in ents]
            out[i] = [[p[0][0], p[-1][1], ent[2]] for p, ent in zip(pieces, ents)]
        return out
    return entities


@pytest.mark.parametrize("output_format", FORMATS)
def test_readme_command_locally(tmp_path, installed, notes, expected, output_format):
    folder, texts = notes
    words = readme_annotate_command()
    assert words[:5] == [".venv/bin/python", "-m", "spacy_clinical_flair", "annotate", "es_meddocan_flair"]
    words = [sys.executable, *words[1:5], str(folder), str(tmp_path / "out"), *words[7:]]
    words[words.index("--format") + 1] = output_format
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(REPO)]), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(words, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"documents annotated {len(texts)} " in done.stdout + done.stderr
    assert read_output(tmp_path / "out", output_format) == as_written(output_format, texts, expected[1])


@pytest.mark.ray
def test_on_ray_in_every_format(tmp_path, installed, notes, expected):
    ray = pytest.importorskip("ray")
    from spacy_clinical_flair.annotate.ray_engine import annotate_with_ray

    from .test_annotate_ray import ray_env

    folder, texts = notes
    name = readme_annotate_command()[4]
    with ray_env(ray, extra_paths=[installed]):
        for output_format in FORMATS:
            settings = AnnotateSettings(output_format=output_format, shard_size=3, progress=False)
            summary = annotate_with_ray(name, folder, tmp_path / output_format, settings, workers=2)
            assert summary.documents == len(texts) and summary.skipped == []
            assert read_output(tmp_path / output_format, output_format) == as_written(output_format, texts,
                                                                                     expected[1]), output_format
    local = annotate(expected[0], name, folder, tmp_path / "local", AnnotateSettings(shard_size=3, progress=False))
    assert local.documents == len(texts)
