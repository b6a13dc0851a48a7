"""export-onnx on a clinical_flair_ner pipeline: the saved graphs are the ones loaded, the entities are PyTorch's,
int8 is measured before it is written, and a bad graph in the folder is refused."""
import warnings

import pytest
import spacy
import torch
from typer.testing import CliRunner

from ..conftest import LABELS, SAMPLE, random_tagger, sample_texts

pytest.importorskip("onnxruntime")

from spacy_clinical_flair.cli import app  # noqa: E402
from spacy_clinical_flair.ml.onnx_lm import OnnxModelError, lm_graph  # noqa: E402
from spacy_clinical_flair.pipeline.onnx_export import ExportRefused, export_onnx  # noqa: E402

runner = CliRunner()
TEXTS = sample_texts("dev")
GRAPHS = ["model.lm-0.onnx", "model.lm-1.onnx", "model.network.onnx"]


def entities(nlp, texts=TEXTS):
    return [{(e.start_char, e.end_char, e.label_) for e in doc.ents} for doc in nlp.pipe(texts)]


@pytest.fixture(scope="module")
def tagger_pipeline(tmp_path_factory):
    """A saved pipeline with a random tagger whose emission weights are scaled so that it predicts entities."""
    from spacy_clinical_flair.models.tagger_format import save_tagger

    folder = tmp_path_factory.mktemp("onnx-export")
    tagger = random_tagger(LABELS, seed=3, texts=TEXTS)
    with torch.no_grad():
        tagger.linear.weight.mul_(40)
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(save_tagger(tagger, folder / "tagger.safetensors")),
                                               "device": "cpu"})
    nlp.initialize()
    nlp.to_disk(folder / "torch")
    return folder / "torch", entities(nlp)


def test_export_writes_the_graphs_it_ran_and_the_copy_predicts_torchs_entities(tagger_pipeline, tmp_path):
    source, torch_entities = tagger_pipeline
    assert sum(map(len, torch_entities)) > 20  # the comparison below is over real predictions
    out = tmp_path / "onnx"
    result = runner.invoke(app, ["export-onnx", str(source), str(out), "--check", str(SAMPLE / "dev")])
    assert result.exit_code == 0, result.output
    assert f"({1:.2%})" in result.output  # every entity equal
    assert sorted(p.name for p in (out / "clinical_flair_ner").glob("*.onnx")) == GRAPHS
    assert 'engine = "onnx"' in (out / "config.cfg").read_text()
    assert 'engine = "onnx"' not in (source / "config.cfg").read_text()  # the source pipeline is left as it was
    loaded = spacy.load(out)
    ner = loaded.get_pipe("clinical_flair_ner")
    fast = ner.fast_taggers[0]
    assert ner.engine == "onnx" and fast.network is not None
    # the graphs it runs are the saved files, not graphs made again from the weights
    assert fast.network.graph == (out / "clinical_flair_ner" / "model.network.onnx").read_bytes()
    assert [m.lm.graph for m in fast.lm_members] == [(out / "clinical_flair_ner" / n).read_bytes() for n in GRAPHS[:2]]
    assert entities(loaded) == torch_entities


def test_int8_agreement_is_measured_and_an_export_below_the_bar_writes_nothing(tagger_pipeline, tmp_path):
    source, torch_entities = tagger_pipeline
    report = export_onnx(spacy.load(source), tmp_path / "int8", "int8", TEXTS, min_agreement=0.0)
    int8_entities = entities(spacy.load(tmp_path / "int8"))
    shared = sum(len(a & b) for a, b in zip(torch_entities, int8_entities))
    larger = max(sum(map(len, torch_entities)), sum(map(len, int8_entities)))
    assert (report.shared, report.agreement) == (shared, shared / larger)
    assert report.agreement < 1.0  # int8 weights move some entity of this random tagger: the bar below can bite
    with pytest.raises(ExportRefused, match="nothing was written"):
        export_onnx(spacy.load(source), tmp_path / "refused", "int8", TEXTS, min_agreement=report.agreement + 1e-9)
    assert not (tmp_path / "refused").exists()
    result = runner.invoke(app, ["export-onnx", str(source), str(tmp_path / "cli"), "--precision", "int8"])
    assert result.exit_code == 1 and "pass --check" in result.output
    result = runner.invoke(app, ["export-onnx", str(source), str(tmp_path / "int8"), "--check", str(SAMPLE / "dev")])
    assert result.exit_code == 1 and "not an empty folder" in result.output


def test_a_bad_graph_in_the_pipeline_folder_is_refused_with_its_path(tagger_pipeline, tmp_path):
    source, _ = tagger_pipeline
    out = tmp_path / "onnx"
    export_onnx(spacy.load(source), out, "fp32", TEXTS[:2])
    network = out / "clinical_flair_ner" / "model.network.onnx"
    network.write_bytes(b"not a graph")
    with pytest.raises(OnnxModelError, match=r"model\.\*\.onnx.*network graph is not an ONNX model"):
        spacy.load(out)
    # a well-formed graph of something else (an LM's graph in the network's place) is refused too
    other = spacy.load(source).get_pipe("clinical_flair_ner").tagger.embeddings.list_embedding_0.lm
    network.write_bytes(lm_graph(other).SerializeToString())
    with pytest.raises(OnnxModelError, match="inputs"):
        spacy.load(out)
    network.unlink()
    with pytest.raises(OnnxModelError, match="no model.network.onnx"):
        spacy.load(out)


def test_graphs_of_another_precision_are_made_again_with_a_warning(tagger_pipeline, tmp_path):
    source, torch_entities = tagger_pipeline
    out = tmp_path / "int8"
    export_onnx(spacy.load(source), out, "int8", TEXTS[:2], min_agreement=0.0)
    with pytest.warns(UserWarning, match="making a fp32 graph from the weights"):
        loaded = spacy.load(out, config={"components": {"clinical_flair_ner": {"precision": "fp32"}}})
    assert entities(loaded) == torch_entities  # fp32 graphs from the weights: PyTorch's entities
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch_again = spacy.load(out, config={"components": {"clinical_flair_ner": {"engine": "torch",
                                                                                      "precision": "fp32"}}})
    assert entities(torch_again) == torch_entities  # engine torch reads no graph


def test_a_pipeline_without_character_lms_has_nothing_to_export(tmp_path):
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_sentencizer")
    with pytest.raises(ExportRefused, match="nothing to export"):
        export_onnx(nlp, tmp_path / "out", "fp32", TEXTS[:1])


def test_engine_and_precision_in_the_config_are_checked_together():
    nlp = spacy.blank("es")
    with pytest.raises(ValueError, match="onnx engine runs precision 'fp32' or 'int8'"):
        nlp.add_pipe("clinical_flair_ner", config={"engine": "onnx", "precision": "bf16"})
    with pytest.raises(ValueError, match="needs engine 'onnx'"):
        nlp.add_pipe("clinical_flair_ner", name="other", config={"precision": "int8"})
