"""configs/transformer_ner.cfg on a tiny transformer built on the fly, and the cross-sentence windows."""
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_clinical_flair.windows import configure_sentence_windows, doc_windows

from .conftest import REPO, SAMPLE, sample_texts

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


@pytest.fixture(scope="module")
def tiny_transformer(tmp_path_factory) -> Path:
    """A 2-layer BERT with a WordPiece vocabulary trained on the sample's text, saved as a local folder."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    wordpiece = BertWordPieceTokenizer(lowercase=False)
    wordpiece.train_from_iterator(sample_texts("train"), vocab_size=1000, min_frequency=1)
    wordpiece.save_model(str(folder))
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=False).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=wordpiece.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    return folder


def test_spacy_train_on_a_tiny_transformer_learns_and_reloads_identically(tmp_path, tiny_transformer, monkeypatch):
    from spacy_clinical_flair.convert import convert_brat_folder
    from spacy_clinical_flair.training.spacy_train import train_spacy_pipeline

    for split in ("train", "dev"):
        convert_brat_folder(SAMPLE / split, tmp_path / f"{split}.spacy", progress=False)
    seen = []
    original = doc_windows

    def spy(doc, max_tokens):  # every window the transformer gets, with the doc it was cut from
        windows = original(doc, max_tokens)
        seen.extend((doc, window) for window in windows)
        return windows

    monkeypatch.setattr("spacy_clinical_flair.windows.doc_windows", spy)
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


def test_project_transformer_workflow_runs_on_a_local_model(tmp_path, tiny_transformer):
    """`spacy project run transformer` with a local model folder: convert, train, evaluate, package."""
    import json

    from .test_project import copy_project, run_project

    project = copy_project(tmp_path / "project")
    run_project("run", "transformer", project, "--vars.transformer_model", tiny_transformer,
                "--vars.transformer_minutes", "0.4", cwd=tmp_path)
    metrics = json.loads((project / "metrics" / "test-transformer.json").read_text())
    assert 0.0 <= metrics["ents_f"] <= 1.0 and "ents_per_type" in metrics
    assert list((project / "packages").glob("*_transformer-*/dist/*.tar.gz"))
