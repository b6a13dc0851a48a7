"""Taggers as safetensors + JSON: saved pipelines load without unpickling, and bad files fail clearly."""
import json
import pickle
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import spacy
import torch
from typer.testing import CliRunner

from spacy_clinical_flair.cli import app
from spacy_clinical_flair.models.build import build_language_model, build_tagger, character_dictionary
from spacy_clinical_flair.models.tagger_format import (
    TaggerFormatError,
    UnsupportedEmbeddingError,
    load_tagger_file,
    save_tagger,
    tagger_from_bytes,
    tagger_to_bytes,
)
from spacy_clinical_flair.models.tagger_io import PickleWarning
from spacy_clinical_flair.training.ner import extra_embedding

from ..conftest import LABELS, random_tagger, sample_texts


def ents(doc):
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def flair_sentences():
    from flair.data import Sentence

    return [Sentence(text.split()[:40]) for text in sample_texts("train")[:8]]


def tagger_with(kinds, seed=0):
    """A random tagger over the named embeddings: "lms" (forward+backward LMs), "char", "onehot"."""
    torch.manual_seed(seed)
    lms = []
    if "lms" in kinds:
        dictionary = character_dictionary(sample_texts("train"))
        lms = [build_language_model(dictionary, forward, hidden_size=16, embedding_size=8) for forward in (True, False)]
    extras = [extra_embedding(kind, flair_sentences(), onehot_min_freq=1) for kind in kinds if kind != "lms"]
    tagger = build_tagger(LABELS, lms, hidden_size=8, extra_embeddings=extras, tag_format="BIO")
    tagger.eval()
    return tagger


def pipeline_with(models, tmp_path: Path):
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_sentencizer")
    nlp.add_pipe("clinical_flair_ner", config={"model": models if len(models) > 1 else models[0]})
    nlp.initialize()
    return nlp


@pytest.mark.parametrize("kinds", [("lms",), ("lms", "char", "onehot"), ("char",), ("onehot",)])
def test_saved_pipeline_loads_without_unpickling_and_predicts_the_same(tmp_path, kinds, monkeypatch):
    texts = sample_texts()[:6]
    files = [save_tagger(tagger_with(kinds, seed), tmp_path / f"m{seed}.safetensors") for seed in (0, 1, 2)]
    for models in ([str(files[0])], [str(f) for f in files]):  # one tagger, then an ensemble of three
        nlp = pipeline_with(models, tmp_path)
        expected = [ents(doc) for doc in nlp.pipe(texts)]
        folder = tmp_path / f"pipeline-{len(models)}"
        nlp.to_disk(folder)
        with monkeypatch.context() as patch:
            for module, name in ((pickle, "load"), (pickle, "loads"), (torch, "load")):
                patch.setattr(module, name, lambda *a, **k: pytest.fail("something was unpickled"))
            loaded = spacy.load(folder)
            assert [ents(doc) for doc in loaded.pipe(texts)] == expected
        assert len(loaded.get_pipe("clinical_flair_ner").taggers) == len(models)
    assert not list(tmp_path.rglob("*.pt"))


def test_a_malicious_pickle_in_the_pipeline_folder_is_never_executed(tmp_path, tiny_tagger_path):
    nlp = pipeline_with([str(tiny_tagger_path)], tmp_path)
    nlp.to_disk(tmp_path / "pipeline")
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.write_text, (marker, "code ran"))

    for name in ("model.pt", "model.pkl", "best-model.pt"):
        torch.save({"x": Payload()}, tmp_path / "pipeline" / "clinical_flair_ner" / name)
    assert not marker.exists()
    loaded = spacy.load(tmp_path / "pipeline")
    assert not marker.exists()
    text = sample_texts()[0]
    assert ents(loaded(text)) == ents(nlp(text))
    (tmp_path / "pipeline" / "clinical_flair_ner" / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="import-flair"):
        spacy.load(tmp_path / "pipeline")  # an old pickle-only folder: a clear error, the pickle still unread
    assert not marker.exists()
    torch.load(tmp_path / "pipeline" / "clinical_flair_ner" / "model.pt", weights_only=False)
    assert marker.read_text() == "code ran"  # proof that the payload was live all along


def test_description_records_what_flairs_own_save_drops():
    tagger = tagger_with(("lms",))
    tagger.embeddings.embeddings[0].with_whitespace = False  # not Flair's default
    blob = tagger_to_bytes(tagger)
    header = json.loads(blob[8:8 + struct.unpack("<Q", blob[:8])[0]])["__metadata__"]
    description = json.loads(header["clinical_flair_tagger"])
    assert description["parameters"]["bidirectional"] is True
    assert description["parameters"]["tag_format"] == "BIO"
    forward = description["embeddings"]["embeddings"][0]
    assert forward["class"] == "FlairEmbeddings" and forward["parameters"]["with_whitespace"] is False
    assert forward["parameters"]["model_params"]["recurrent_type"] == "LSTM"
    assert tagger_from_bytes(blob).embeddings.embeddings[0].with_whitespace is False


def test_unsupported_embedding_is_named_at_save_time():
    from flair.embeddings import HashEmbeddings

    tagger = build_tagger(LABELS, [], hidden_size=8, extra_embeddings=[HashEmbeddings(num_embeddings=50,
                                                                                        embedding_length=8)])
    with pytest.raises(UnsupportedEmbeddingError, match="HashEmbeddings"):
        tagger_to_bytes(tagger)


def rewrite_description(blob: bytes, change) -> bytes:
    """The same tensors with an edited JSON description."""
    from safetensors.torch import load, save

    length = struct.unpack("<Q", blob[:8])[0]
    metadata = json.loads(blob[8:8 + length])["__metadata__"]
    description = json.loads(metadata["clinical_flair_tagger"])
    change(description)
    metadata["clinical_flair_tagger"] = json.dumps(description)
    return save(load(blob), metadata=metadata)


def test_bad_files_give_clear_errors(tmp_path, tiny_tagger_path):
    blob = tiny_tagger_path.read_bytes()
    cases = {
        "truncated": (blob[: len(blob) // 2], "truncated or corrupt"),
        "too short": (blob[:5], "truncated or corrupt"),
        "not safetensors": (b"\x00" * 64, "truncated or corrupt"),
        "an LM, not a tagger": ((Path(__file__).parents[2] / "assets/lms/clinical-es-forward.safetensors").read_bytes(),
                                "not a clinical-flair tagger"),
        "unknown class": (rewrite_description(blob, lambda d: d["embeddings"]["embeddings"][0].update(
            {"class": "os.system"})), "'os.system' is not one this package loads"),
        "wrong shape": (rewrite_description(blob, lambda d: d["parameters"].update({"hidden_size": 5})),
                        "does not match the tensors"),
        "not a tagger": (rewrite_description(blob, lambda d: d.update({"class": "TextClassifier"})),
                         "must be one of .SequenceTagger., not .TextClassifier."),
        "unknown parameter": (rewrite_description(blob, lambda d: d["parameters"].update({"exec": "x"})),
                              "unknown parameter"),
    }
    for name, (data, message) in cases.items():
        with pytest.raises(TaggerFormatError, match=message):
            tagger_from_bytes(data, name)
    (tmp_path / "bad.safetensors").write_bytes(blob[:100])
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tmp_path / "bad.safetensors")})
    with pytest.raises(TaggerFormatError, match="bad.safetensors"):
        nlp.initialize()


def test_import_flair_converts_a_trusted_pt_and_config_pt_warns(tmp_path):
    tagger = random_tagger(LABELS, seed=3, texts=sample_texts("train"))
    tagger.save(tmp_path / "flair.pt")
    result = CliRunner().invoke(app, ["import-flair", str(tmp_path / "flair.pt"), str(tmp_path / "safe")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "safe" / "model.safetensors").is_file()
    texts = sample_texts()[:4]
    with pytest.warns(PickleWarning, match="import-flair"):
        from_pt = pipeline_with([str(tmp_path / "flair.pt")], tmp_path)
    from_safe = pipeline_with([str(tmp_path / "safe")], tmp_path)  # the output folder is a valid 'model'
    assert [ents(d) for d in from_safe.pipe(texts)] == [ents(d) for d in from_pt.pipe(texts)]
    missing = CliRunner().invoke(app, ["import-flair", str(tmp_path / "nope.pt"), str(tmp_path / "x")])
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_spacy_package_of_a_tagger_pipeline_holds_no_pickle(tmp_path, tiny_tagger_path):
    nlp = pipeline_with([str(tiny_tagger_path)], tmp_path)
    nlp.to_disk(tmp_path / "pipeline")
    (tmp_path / "packages").mkdir()
    built = subprocess.run([sys.executable, "-m", "spacy", "package", str(tmp_path / "pipeline"),
                            str(tmp_path / "packages"), "--name", "tagger_test", "--version", "0.0.1", "--force"],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    (archive,) = (tmp_path / "packages").glob("*/dist/*.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert any(name.endswith("clinical_flair_ner/model.safetensors") for name in names)
    assert not any(name.endswith((".pt", ".pkl", ".pickle", ".pth")) for name in names)


def test_load_tagger_file_names_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-tagger"):
        load_tagger_file(tmp_path)


def test_loading_a_pipeline_in_a_fresh_process_logs_no_vocabulary(tmp_path):
    """Privacy: Flair configures its logger when it is first imported; where that import happens during a load,
    its INFO lines (the whole one-hot vocabulary of the training notes) must still not reach stdout or stderr."""
    tagger = tagger_with(("lms", "onehot"))
    words = [w for w in tagger.embeddings.embeddings[-1].vocab_dictionary.get_items() if len(w) >= 6]
    assert len(words) >= 10  # the check below has words to look for
    folder = tmp_path / "pipeline"
    pipeline_with([str(save_tagger(tagger, tmp_path / "m.safetensors"))], tmp_path).to_disk(folder)
    script = f"import spacy; nlp = spacy.load({str(folder)!r}); nlp('Paciente con fiebre.')"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    printed = run.stdout + run.stderr
    assert "vocabulary size" not in printed and "SequenceTagger predicts" not in printed
    assert not [word for word in words if word in printed]


def test_one_hot_vocabulary_drops_one_off_words_and_is_never_logged(caplog, capsys):
    """Privacy: a name seen once in the training notes is not stored in the one-hot vocabulary by default,
    and building the vocabulary logs none of its words."""
    import logging

    from flair.data import Sentence

    sentences = [Sentence("Paciente Zubizarreta refiere fiebre .".split()),
                 *[Sentence("Paciente refiere fiebre y tos .".split()) for _ in range(3)]]
    with caplog.at_level(logging.DEBUG):
        embedding = extra_embedding("onehot", sentences)  # default onehot_min_freq
    vocabulary = embedding.vocab_dictionary.get_items()
    assert "Zubizarreta" not in vocabulary and {"Paciente", "fiebre", "tos"} <= set(vocabulary)
    printed = caplog.text + "".join(capsys.readouterr())
    assert not any(word in printed for word in ("Paciente", "fiebre", "refiere"))
