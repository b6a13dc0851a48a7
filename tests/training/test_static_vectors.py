"""One-hot word embeddings that start from static vectors (`extra_embeddings = ["onehot:<vectors folder>"]`).

The vectors are built here with spaCy's own `Vectors` (floret and default mode), so no floret training and
no download is needed; the expected rows come from spaCy's lookup (`Vocab[word].vector`, a different
path from the batch lookup the code uses) or from rows written by hand.
"""
import numpy
import pytest
import spacy
import torch
from spacy.vectors import Vectors
from typer.testing import CliRunner

from spacy_clinical_flair.cli import app
from spacy_clinical_flair.corpus.convert import convert_brat_folder
from spacy_clinical_flair.training.ner import extra_embedding, onehot_embedding

from ..conftest import REPO
from .test_training import TINY_NER, slice_folder

WORDS = "Paciente refiere fiebre y tos . Paciente con fiebre alta .".split()


def sentences():
    from flair.data import Sentence

    return [Sentence(WORDS[:6]), Sentence(WORDS[6:])]


def vectors_folder(tmp_path, vectors: Vectors):
    nlp = spacy.blank("es")
    nlp.vocab.vectors = vectors
    nlp.to_disk(tmp_path / "vectors")
    return tmp_path / "vectors"


def rows(embedding, words):
    weight = embedding.embedding_layer.weight.detach()
    return {word: weight[embedding.vocab_dictionary.get_idx_for_item(word)].numpy() for word in words}


def test_floret_vectors_start_every_word_row_and_leave_unk_alone(tmp_path):
    data = numpy.random.default_rng(0).normal(size=(40, 6)).astype("float32")
    folder = vectors_folder(tmp_path, Vectors(data=data, mode="floret", minn=2, maxn=3, hash_count=2))
    torch.manual_seed(0)
    embedding = extra_embedding(f"onehot:{folder}", sentences(), onehot_min_freq=1)
    torch.manual_seed(0)
    random_start = onehot_embedding(sentences(), 1, embedding_length=6)  # the same draw, no vectors

    assert embedding.embedding_length == 6  # the vectors' width, not the one-hot default of 300
    vocabulary = set(WORDS)
    assert set(embedding.vocab_dictionary.get_items()) == vocabulary | {"<unk>"}
    lookup = spacy.load(folder).vocab
    for word, row in rows(embedding, vocabulary).items():
        numpy.testing.assert_allclose(row, lookup[word].vector, rtol=1e-6, atol=1e-6)
    numpy.testing.assert_array_equal(rows(embedding, ["<unk>"])["<unk>"], rows(random_start, ["<unk>"])["<unk>"])
    assert embedding.embedding_layer.weight.requires_grad  # trained with the tagger, not frozen


def test_a_default_table_starts_only_the_words_it_has(tmp_path):
    table = Vectors(shape=(2, 4))
    table.add("fiebre", vector=numpy.array([1, 2, 3, 4], dtype="float32"))
    table.add("tos", vector=numpy.array([-1, 0, 0.5, 8], dtype="float32"))
    folder = vectors_folder(tmp_path, table)
    torch.manual_seed(3)
    embedding = extra_embedding(f"onehot:{folder}", sentences(), onehot_min_freq=1)
    torch.manual_seed(3)
    random_start = onehot_embedding(sentences(), 1, embedding_length=4)

    got = rows(embedding, ["fiebre", "tos", "Paciente", "alta"])
    numpy.testing.assert_array_equal(got["fiebre"], [1, 2, 3, 4])
    numpy.testing.assert_array_equal(got["tos"], [-1, 0, 0.5, 8])
    expected_random = rows(random_start, ["Paciente", "alta"])
    for word in ("Paciente", "alta"):  # no vector: Flair's random row, as without vectors
        numpy.testing.assert_array_equal(got[word], expected_random[word])


def test_min_freq_still_decides_the_vocabulary(tmp_path):
    data = numpy.ones((10, 3), dtype="float32")
    folder = vectors_folder(tmp_path, Vectors(data=data, mode="floret", minn=2, maxn=3, hash_count=1))
    embedding = extra_embedding(f"onehot:{folder}", sentences(), onehot_min_freq=2)
    assert set(embedding.vocab_dictionary.get_items()) == {"<unk>", "Paciente", "fiebre", "."}


def test_a_folder_that_is_not_a_vectors_folder_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="spacy init vectors"):
        extra_embedding(f"onehot:{tmp_path / 'missing'}", sentences())
    with pytest.raises(ValueError, match="holds no vectors"):
        extra_embedding(f"onehot:{vectors_folder(tmp_path, Vectors(shape=(0, 0)))}", sentences())


def test_train_ner_with_vector_started_words_saves_and_loads(tmp_path):
    from flair.embeddings import OneHotEmbeddings

    from spacy_clinical_flair.models.tagger_format import load_tagger_file

    data = numpy.random.default_rng(1).normal(size=(60, 5)).astype("float32")
    folder = vectors_folder(tmp_path, Vectors(data=data, mode="floret", minn=3, maxn=4, hash_count=2))
    convert_brat_folder(slice_folder("train", 6, tmp_path), tmp_path / "t.spacy", progress=False)
    result = CliRunner().invoke(app, [str(a) for a in [
        "train-tagger", REPO / "configs/ner_demo.cfg", tmp_path / "ner", "--paths.train", tmp_path / "t.spacy",
        "--paths.dev", "null", "--paths.lm_forward", "null", "--paths.lm_backward", "null",
        "--ner.extra_embeddings", f'["onehot:{folder}"]', *TINY_NER]])
    assert result.exit_code == 0, result.output
    embedding = load_tagger_file(tmp_path / "ner").embeddings  # the only embedding: not stacked
    assert isinstance(embedding, OneHotEmbeddings) and embedding.embedding_length == 5  # the vectors' width
