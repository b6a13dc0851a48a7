"""configs/transformer_ner.cfg on a tiny transformer built on the fly, and the cross-sentence windows."""
import pytest
import spacy
from spacy.tokens import DocBin

from spacy_clinical_flair.text.windows import configure_sentence_windows, doc_windows

from ..conftest import REPO, SAMPLE, sample_texts

spacy_transformers = pytest.importorskip("spacy_transformers")


def sentenced(texts):
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": "clinical_flair.tokenizer.v1"}}})
    nlp.add_pipe("clinical_sentencizer")
    return list(nlp.pipe(texts))


def test_windows_cover_every_token_hold_whole_neighbouring_sentences_and_stay_in_their_doc():
    docs = sentenced(sample_texts("dev")[:5])
    for max_tokens in (12, 40, 128):
        for doc in docs:
            windows = doc_windows(doc, max_tokens)
            covered = set()
            for window in windows:
                assert window.doc is doc and len(window) <= max_tokens
                covered.update(range(window.start, window.end))
            assert covered == set(range(len(doc)))
    # windows widened with context: on these notes most windows hold more than their core of <= 20 tokens
    starts = {s.start for s in docs[0].sents} | {len(docs[0])}
    windows = doc_windows(docs[0], 40)
    assert any(len(w) > 20 for w in windows)
    assert all(w.start in starts or w.end not in starts for w in windows)  # whole sentences, unless cut


def test_a_doc_without_sentences_and_an_empty_doc():
    nlp = spacy.blank("es")
    doc = nlp("uno dos tres cuatro cinco seis siete ocho nueve diez")
    windows = doc_windows(doc, 4)
    # cores of 2 tokens, each widened to 4 (before first): the first two cores share one window
    assert [w.text for w in windows] == ["uno dos tres cuatro", "tres cuatro cinco seis", "cinco seis siete ocho",
                                         "siete ocho nueve diez"]
    assert doc_windows(nlp(""), 4) == []
    with pytest.raises(ValueError, match="max_tokens"):
        configure_sentence_windows(1)


def test_spacy_train_on_a_tiny_transformer_learns_and_reloads_identically(tmp_path, tiny_transformer, monkeypatch):
    from spacy_clinical_flair.corpus.convert import convert_brat_folder
    from spacy_clinical_flair.training.spacy_train import train_spacy_pipeline

    for split in ("train", "dev"):
        convert_brat_folder(SAMPLE / split, tmp_path / f"{split}.spacy", progress=False)
    seen = []
    original = doc_windows

    def spy(doc, max_tokens):  # every window the transformer gets, with the doc it was cut from
        windows = original(doc, max_tokens)
        seen.extend((doc, window) for window in windows)
        return windows

    monkeypatch.setattr("spacy_clinical_flair.text.windows.doc_windows", spy)
    overrides = {"paths.train": str(tmp_path / "train.spacy"), "paths.dev": str(tmp_path / "dev.spacy"),
                 "paths.transformer": str(tiny_transformer), "training.max_steps": 150,
                 "training.eval_frequency": 50, "training.optimizer.learn_rate.initial_rate": 0.003,
                 "training.optimizer.learn_rate.warmup_steps": 10, "system.gpu_allocator": None}
    result = train_spacy_pipeline(REPO / "configs" / "transformer_ner.cfg", tmp_path / "out", overrides)
    assert result.best_score is not None and result.best_score > 0.1, result.scores
    assert seen and all(window.doc is doc for doc, window in seen)
    assert any(len(list(window.sents)) > 1 for _, window in seen)  # context beyond one sentence
    gold = list(DocBin().from_disk(tmp_path / "dev.spacy").get_docs(spacy.blank("es").vocab))
    texts = [doc.text for doc in gold]
    nlp = spacy.load(result.best_model)
    first = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]
    again = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in spacy.load(result.best_model).pipe(texts)]
    assert first == again and any(first)


def test_project_transformer_workflow_runs_offline_on_the_tiny_model_it_builds(tmp_path):
    """What a user runs offline: `spacy project run tiny-transformer`, then the `transformer` workflow on it
    (convert, train, evaluate, package)."""
    import json

    from ..test_project import copy_project, run_project

    project = copy_project(tmp_path / "project")
    run_project("run", "tiny-transformer", project, cwd=tmp_path)
    assert (project / "training" / "tiny-transformer" / "config.json").is_file()
    run_project("run", "transformer", project, "--vars.transformer_model", "training/tiny-transformer",
                "--vars.transformer_minutes", "0.4", cwd=tmp_path)
    metrics = json.loads((project / "metrics" / "test-transformer.json").read_text())
    assert 0.0 <= metrics["ents_f"] <= 1.0 and "ents_per_type" in metrics
    (built,) = (project / "packages").glob("*_transformer-*/dist/*.tar.gz")
    import tarfile

    with tarfile.open(built) as archive:
        licences = [name for name in archive.getnames() if name.endswith("/LICENSE")]
        assert licences, "the transformer package has no LICENSE"
        notice = archive.extractfile(licences[0]).read().decode("utf-8")
    assert notice == (REPO / "assets" / "transformer-LICENSE").read_text(encoding="utf-8")


def test_tagger_stacks_a_local_transformer_with_the_lms_and_loads_without_it(tmp_path, tiny_transformer, monkeypatch):
    """train-tagger with extra_embeddings ["transformer:<folder>"]: the tagger holds LM + transformer embeddings,
    saves as safetensors + JSON, and a pipeline loads it with the folder gone and nothing unpickled."""
    import pickle
    import shutil

    import torch
    from flair.embeddings import FlairEmbeddings, TransformerWordEmbeddings
    from typer.testing import CliRunner

    from spacy_clinical_flair.cli import app
    from spacy_clinical_flair.corpus.convert import convert_brat_folder
    from spacy_clinical_flair.models.build import build_language_model, character_dictionary
    from spacy_clinical_flair.models.lm_io import save_language_model
    from spacy_clinical_flair.models.tagger_format import load_tagger_file

    convert_brat_folder(SAMPLE / "dev", tmp_path / "t.spacy", progress=False)
    torch.manual_seed(0)
    lm = save_language_model(build_language_model(character_dictionary(sample_texts("dev")), True, hidden_size=16,
                                                  embedding_size=8), tmp_path / "fw.safetensors")
    model = tmp_path / "bert"
    shutil.copytree(tiny_transformer, model)
    result = CliRunner().invoke(app, [str(a) for a in [
        "train-tagger", REPO / "configs/ner_demo.cfg", tmp_path / "ner", "--paths.train", tmp_path / "t.spacy",
        "--paths.dev", "null", "--paths.lm_forward", lm, "--paths.lm_backward", "null",
        "--ner.extra_embeddings", f'["transformer:{model}"]', "--ner.hidden_size", "8", "--ner.max_epochs", "1"]])
    assert result.exit_code == 0, result.output
    tagger = load_tagger_file(tmp_path / "ner")
    assert {type(e) for e in tagger.embeddings.embeddings} == {FlairEmbeddings, TransformerWordEmbeddings}
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": "clinical_flair.tokenizer.v1"}}})
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tmp_path / "ner")})
    nlp.initialize()
    texts = sample_texts("test")[:3]
    expected = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(model)  # the saved pipeline carries the transformer's config, tokenizer and weights
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with monkeypatch.context() as patch:
        for module, name in ((pickle, "load"), (pickle, "loads"), (torch, "load")):
            patch.setattr(module, name, lambda *a, **k: pytest.fail("something was unpickled"))
        loaded = spacy.load(tmp_path / "pipeline")
    assert [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in loaded.pipe(texts)] == expected
    from flair.data import Sentence

    vectors = []
    for model_ in (tagger, loaded.get_pipe("clinical_flair_ner").tagger):
        model_.eval()
        sentence = Sentence("Paciente con fiebre y tos seca .".split())
        model_.embeddings.embed(sentence)
        vectors.append(torch.cat([token.get_embedding() for token in sentence]))
    assert vectors[0].shape[0] == 7 * tagger.embeddings.embedding_length and torch.equal(vectors[0], vectors[1])
