"""annotate with every kind of pipeline the project makes: spaCy's ``ner`` on the Flair layer, spaCy's efficiency
NER, the ``clinical_flair_ner`` tagger, each with a component that raises on one note, locally and on Ray, in
every format. spaCy's ``ner`` cannot take ``nlp.set_error_handler`` (it raises AttributeError), so these are the
pipelines that broke annotate when it relied on it."""
import random

import pytest
import spacy
from spacy.training import Example

from spacy_clinical_flair.annotate.job import AnnotateSettings, annotate, pipe_isolated

from .. import pipeline_components  # noqa: F401 (registers fail_on_boom)
from ..conftest import REPO, SAMPLE
from .test_annotate import BAD, expected_entities, good_texts, pipeline_dir, read_output, txt_input  # noqa: F401

FORMATS = ["jsonl", "brat", "parquet", "spacy"]
pytest.importorskip("pyarrow")


def sample_examples(nlp, split: str):
    """The sample's BRAT notes as training Examples, converted (nested spans flattened) by the project."""
    from spacy_clinical_flair.corpus.convert import ConversionReport, iter_brat_folder_docs

    docs = iter_brat_folder_docs(SAMPLE / split, ConversionReport(), nlp=nlp, progress=False)
    return [Example(nlp.make_doc(doc.text), doc) for doc in docs]


def brat_extent(text, entity):
    """[start, end, label] as BRAT writes the entity: split at line breaks, first to last piece."""
    from spacy_clinical_flair.corpus.brat import split_at_line_breaks

    pieces = split_at_line_breaks(text, (entity[0], entity[1]))
    return [pieces[0][0], pieces[-1][1], entity[2]]


def with_boom(nlp, folder):
    """``nlp`` with ``fail_on_boom`` last, saved to ``folder``."""
    nlp.add_pipe("fail_on_boom")
    nlp.to_disk(folder)
    return folder


@pytest.fixture(scope="module")
def route_dirs(tmp_path_factory, pipeline_dir):
    """route name -> saved pipeline folder (each ends in fail_on_boom)."""
    root = tmp_path_factory.mktemp("routes")
    flair_layer = spacy.load(REPO / "tests" / "fixtures" / "saved_pipelines" / "spacy_flair")
    efficiency = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": "clinical_flair.tokenizer.v1"}}})
    efficiency.add_pipe("ner")
    examples = sample_examples(efficiency, "train")
    optimizer = efficiency.initialize(lambda: examples)
    rng = random.Random(0)
    for _ in range(8):  # enough for the synthetic sample's small lexicon: the test needs entities, not accuracy
        rng.shuffle(examples)
        for start in range(0, len(examples), 8):
            efficiency.update(examples[start:start + 8], sgd=optimizer, drop=0.1)
    return {"spacy-ner-on-flair-layer": with_boom(flair_layer, root / "flair-layer"),
            "spacy-efficiency-ner": with_boom(efficiency, root / "efficiency"),
            "tagger": pipeline_dir}


ROUTES = ["spacy-ner-on-flair-layer", "spacy-efficiency-ner", "tagger"]


def test_spacy_ner_cannot_take_an_error_handler():
    """The reason annotate sets none: if spaCy fixes this, the test says the old route would work again."""
    nlp = spacy.blank("es")
    nlp.add_pipe("ner").add_label("X")
    nlp.initialize()
    with pytest.raises(AttributeError, match="error_handler"):
        nlp.set_error_handler(lambda *args: None)


@pytest.mark.parametrize("n_process", [1, 2])
def test_pipe_isolated_keeps_every_good_doc_of_a_failing_batch(n_process):
    nlp = spacy.blank("es")
    nlp.add_pipe("ner").add_label("X")
    nlp.add_pipe("fail_on_boom")
    nlp.initialize()
    texts = [f"nota {i}" + (" BOOM" if i in (1, 6, 7) else "") for i in range(11)]
    outcomes = pipe_isolated(nlp, texts, batch_size=4, n_process=n_process)
    assert [isinstance(o, RuntimeError) for o in outcomes] == [i in (1, 6, 7) for i in range(11)]
    assert [o.text for o in outcomes if not isinstance(o, Exception)] == [t for t in texts if "BOOM" not in t]


def test_pipe_isolated_reruns_what_an_error_handler_dropped():
    """A pipeline whose handler swallows a failing batch yields fewer Docs without raising: none may go missing."""
    nlp = spacy.blank("es")
    nlp.add_pipe("fail_on_boom")
    nlp.set_error_handler(lambda name, proc, docs, error: None)  # drops the doc that failed
    texts = ["uno", "dos BOOM", "tres"]
    outcomes = pipe_isolated(nlp, texts, batch_size=2)
    assert [o.text for o in outcomes] == texts  # run alone, under the same handler, the note comes back


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("output_format", FORMATS)
def test_annotate_with_every_route_and_format(tmp_path, route_dirs, good_texts, route, output_format):
    folder = route_dirs[route]
    nlp = spacy.load(folder)
    source = txt_input(tmp_path / "notes", good_texts)
    settings = AnnotateSettings(output_format=output_format, shard_size=4, batch_size=3, max_chars=5000,
                                progress=False)
    summary = annotate(nlp, str(folder), source, tmp_path / "out", settings)
    ids = [p.relative_to(source).with_suffix("").as_posix() for p in sorted(source.rglob("*.txt"))
           if not p.name.startswith("zz_")]
    expected = expected_entities(nlp, good_texts, ids)
    assert sum(map(len, expected.values())) > 0, f"{route} finds nothing on the sample: the test would be empty"
    if output_format == "parquet":
        expected = {doc_id: ents for doc_id, ents in expected.items() if ents}
    if output_format == "brat":  # a .ann line cannot hold a line break: BRAT's own rule drops one at an edge
        expected = {doc_id: [brat_extent(good_texts[doc_id.split("/")[-1]], ent) for ent in ents]
                    for doc_id, ents in expected.items()}
    assert read_output(tmp_path / "out", output_format) == expected
    assert summary.documents == len(ids)
    assert {item["id"] for item in summary.skipped} == set(BAD)


@pytest.mark.ray
@pytest.mark.parametrize("route, formats", [("spacy-ner-on-flair-layer", FORMATS), ("spacy-efficiency-ner", ["jsonl"])])
def test_annotate_on_ray_with_spacy_ner_routes(tmp_path, route_dirs, good_texts, route, formats):
    """Every format on Ray with the default route (the tagger's are in test_annotate_ray.py); one format is enough
    to show spaCy's efficiency NER runs there too (each Ray run costs seconds of start-up)."""
    ray = pytest.importorskip("ray")
    from spacy_clinical_flair.annotate.ray_engine import annotate_with_ray

    from .test_annotate_ray import ray_env

    folder = route_dirs[route]
    source = txt_input(tmp_path / "notes", good_texts)
    with ray_env(ray):
        for output_format in formats:
            settings = AnnotateSettings(output_format=output_format, shard_size=4, max_chars=5000, progress=False)
            local = annotate(spacy.load(folder), str(folder), source, tmp_path / f"local-{output_format}", settings)
            remote = annotate_with_ray(str(folder), source, tmp_path / f"ray-{output_format}", settings, workers=2)
            assert (read_output(tmp_path / f"ray-{output_format}", output_format)
                    == read_output(tmp_path / f"local-{output_format}", output_format)), output_format
            assert (remote.documents, remote.skipped) == (local.documents, local.skipped)
            assert {item["id"] for item in remote.skipped} == set(BAD)
