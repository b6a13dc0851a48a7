"""The cpu recipe's levers: LM text gathering, new random splits, train+dev for a known epoch count,
pre-computed LM embeddings, and both LMs side by side."""
import json

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_clinical_flair.corpus.convert import convert_brat_folder
from spacy_clinical_flair.training.lm_corpus import gather_texts
from spacy_clinical_flair.training.ner import resplit_documents

from ..conftest import REPO, write_pair
from .test_training import TINY_LM, TINY_NER, invoke, slice_folder


def read_docs(path):
    return list(DocBin().from_disk(path).get_docs(spacy.blank("es").vocab))


# ---------------------------------------------------------------- LM text

def test_lm_text_from_spacy_files_and_every_txt_under_text_folders(tmp_path):
    convert_brat_folder(slice_folder("train", 3, tmp_path), tmp_path / "t.spacy", progress=False)
    notes = tmp_path / "notes"
    write_pair(notes, "a", "Paciente de 45 años.", None)
    write_pair(notes, "deep/b", "\ufeffSin alergias.\r\n", "T1\tX 0 3\tSin\n")  # a BRAT folder: only the .txt counts
    write_pair(notes, "c", "  \n ", None)  # whitespace only: skipped
    (notes / "d.txt").write_bytes(b"caf\xe9 con leche")  # Latin-1 byte: replaced, not a crash
    texts = gather_texts([tmp_path / "t.spacy"], [notes])
    train_texts = [p.read_bytes().decode("utf-8").replace("\ufeff", "")
                   for p in sorted((tmp_path / "brat-train").glob("*.txt"))]
    # .spacy documents first, then the folders' files in sorted path order: a.txt, d.txt, deep/b.txt
    assert texts == [*train_texts, "Paciente de 45 años.", "caf\ufffd con leche", "Sin alergias.\r\n"]


def test_lm_text_folder_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gather_texts([], [tmp_path / "missing"])


# ---------------------------------------------------------------- random train/dev splits

def test_resplit_is_a_seeded_partition_of_train_and_dev():
    train, dev = list(range(40)), list(range(40, 50))
    new_train, new_dev = resplit_documents(train, dev, seed=1, dev_fraction=0.2)
    assert len(new_dev) == 10 and len(new_train) == 40
    assert sorted(new_train + new_dev) == list(range(50))
    assert resplit_documents(train, dev, 1, 0.2) == (new_train, new_dev)  # same seed, same split
    assert set(resplit_documents(train, dev, 2, 0.2)[1]) != set(new_dev)  # another seed, another dev set
    assert len(resplit_documents(list(range(3)), [], 0, 0.01)[1]) == 1  # at least one dev document
    with pytest.raises(ValueError, match="between 0 and 1"):
        resplit_documents(train, dev, 0, 1.0)


# ---------------------------------------------------------------- train+dev for the best dev epoch

def test_final_model_on_train_and_dev_for_the_best_epoch(tmp_path):
    convert_brat_folder(slice_folder("train", 8, tmp_path), tmp_path / "train.spacy", progress=False)
    convert_brat_folder(slice_folder("dev", 3, tmp_path), tmp_path / "dev.spacy", progress=False)
    common = ["--paths.train", tmp_path / "train.spacy", "--paths.dev", tmp_path / "dev.spacy",
              "--paths.lm_forward", "null", "--paths.lm_backward", "null", "--ner.extra_embeddings", '["onehot"]',
              *TINY_NER]
    invoke(["train-tagger", REPO / "configs/ner_demo.cfg", tmp_path / "select", *common, "--ner.max_epochs", "3"])
    first = json.loads((tmp_path / "select" / "ner-result.json").read_text())
    rows = (tmp_path / "select" / "flair" / "loss.tsv").read_text().splitlines()[1:]
    dev_f1 = [float(row.split("\t")[7]) for row in rows]  # DEV_F1 column of Flair's loss.tsv
    assert first["best_epoch"] == dev_f1.index(max(dev_f1)) + 1 and first["dev_f1"] == max(dev_f1)

    out = invoke(["train-tagger", REPO / "configs/ner_demo.cfg", tmp_path / "final", *common,
                  "--ner.epochs_from", tmp_path / "select" / "ner-result.json"])
    final = json.loads((tmp_path / "final" / "ner-result.json").read_text())
    assert "no dev evaluation" in out and final["dev_f1"] is None
    assert final["epochs"] == first["best_epoch"]
    # Flair logs what it trains on: train and dev together
    n_train = sum(1 for doc in read_docs(tmp_path / "train.spacy") for s in doc.sents if s.text.strip())
    n_dev = sum(1 for doc in read_docs(tmp_path / "dev.spacy") for s in doc.sents if s.text.strip())
    assert f"Train:  {n_train} sentences" in (tmp_path / "select" / "flair" / "training.log").read_text()
    assert f"Train:  {n_train + n_dev} sentences" in (tmp_path / "final" / "flair" / "training.log").read_text()


def test_epochs_from_needs_a_run_with_dev_evaluation(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({"best_epoch": None}))
    from spacy_clinical_flair.training.ner import epochs_from_result

    with pytest.raises(ValueError, match="no best dev epoch"):
        epochs_from_result(tmp_path / "r.json")
    with pytest.raises(FileNotFoundError):
        epochs_from_result(tmp_path / "missing.json")


# ---------------------------------------------------------------- pre-computed LM embeddings

@pytest.mark.parametrize("tokenized_lm,with_whitespace", [(True, True), (False, False), (False, True)])
def test_precomputed_embeddings_equal_flairs_own_and_are_compact(tiny_tagger_path, tokenized_lm, with_whitespace):
    import torch
    from flair.data import Sentence, Token

    from spacy_clinical_flair.models.tagger_format import load_tagger_file
    from spacy_clinical_flair.training.ner import precompute_static_embeddings

    tagger = load_tagger_file(tiny_tagger_path)
    for member in tagger.embeddings.embeddings:
        member.tokenized_lm, member.with_whitespace = tokenized_lm, with_whitespace
    texts = ["Fiebre alta desde hace dos días .", "Dolor", "Paciente de 45 años con tos seca y disnea ."]

    def flair_sentence(text):  # "días ." and "disnea ." written without a space before the full stop in plain text
        words = text.split()
        return Sentence([Token(w, whitespace_after=int(n + 1 < len(words) and words[n + 1] != "."))
                         for n, w in enumerate(words)])

    ours = [flair_sentence(text) for text in texts]
    precompute_static_embeddings(tagger.embeddings, ours, batch_size=2)
    names = tagger.embeddings.get_names()
    for text, sentence in zip(texts, ours):
        reference = flair_sentence(text)
        with torch.no_grad():
            tagger.embeddings.embed(reference)  # Flair on its own, one sentence
        for token, expected in zip(sentence, reference):
            for name in names:
                vector = token.get_embedding([name])
                assert torch.allclose(vector, expected.get_embedding([name]), atol=1e-6)
                # a copy of its own, not a view holding the whole batch's LM states
                assert vector.untyped_storage().nbytes() == vector.numel() * vector.element_size()


# ---------------------------------------------------------------- both LMs side by side

def test_both_directions_in_parallel_processes(tmp_path):
    convert_brat_folder(slice_folder("train", 10, tmp_path), tmp_path / "t.spacy", progress=False)
    out = invoke(["train-lm", REPO / "configs/lm_cpu.cfg", tmp_path / "lm", "--direction", "both",
                  "--paths.train", tmp_path / "t.spacy", "--paths.dev", "null", *TINY_LM])
    assert "forward LM:" in out and "backward LM:" in out
    from flair.models import LanguageModel

    for direction in ("forward", "backward"):
        model = LanguageModel.load_language_model(tmp_path / "lm" / direction / "best-lm.pt")
        assert model.is_forward_lm == (direction == "forward") and model.hidden_size == 16
        assert (tmp_path / "lm" / f"train-lm-{direction}.log").is_file()


def test_both_directions_report_a_failing_run(tmp_path):
    from typer.testing import CliRunner

    from spacy_clinical_flair.cli import app

    convert_brat_folder(slice_folder("train", 2, tmp_path), tmp_path / "t.spacy", progress=False)
    # a base LM file that does not exist: each child fails, the parent says which and exits 1
    result = CliRunner().invoke(app, [str(a) for a in [
        "train-lm", REPO / "configs/lm_cpu.cfg", tmp_path / "lm", "--direction", "both", "--paths.train",
        tmp_path / "t.spacy", "--paths.dev", "null", "--base-forward", tmp_path / "nope.pt", *TINY_LM]])
    assert result.exit_code == 1 and "forward" in result.output and "failed" in result.output


def test_side_by_side_training_reports_each_directions_progress(tmp_path):
    from spacy_clinical_flair.training.lm_pair import _follow

    class Finishing:  # a process that is running for its first two polls
        def __init__(self):
            self.polls = 0

        def is_alive(self):
            self.polls += 1
            return self.polls <= 2

    for direction, ppl in (("forward", "9.5"), ("backward", "8.25")):
        (tmp_path / direction).mkdir()
        (tmp_path / direction / "loss.txt").write_text(
            f"noise\n| end of split   1 /  7 | epoch   1 | time: 10.01s | valid ppl {ppl}\n")
    seen = []
    _follow({d: Finishing() for d in ("forward", "backward")}, tmp_path, lambda d, line: seen.append((d, line)), 0)
    assert seen == [("forward", "end of split   1 /  7 | epoch   1 | time: 10.01s | valid ppl 9.5"),
                    ("backward", "end of split   1 /  7 | epoch   1 | time: 10.01s | valid ppl 8.25")]


def test_extra_embeddings_survive_saving_and_loading(tmp_path):
    """One-hot before char used to come back permuted from a saved tagger (a Flair naming quirk)."""
    import torch
    from flair.data import Sentence
    from flair.models import SequenceTagger

    from spacy_clinical_flair.models.build import build_tagger
    from spacy_clinical_flair.models.tagger_format import tagger_from_bytes, tagger_to_bytes
    from spacy_clinical_flair.training.ner import extra_embedding

    train = [Sentence("Paciente de 45 años con fiebre .".split()), Sentence("Juan Pérez García ingresó .".split())]
    tagger = build_tagger(["X"], [], hidden_size=8, use_crf=False,
                          extra_embeddings=[extra_embedding(spec, train * 2) for spec in ("onehot", "char")])
    tagger.save(tmp_path / "t.pt")
    loaded = SequenceTagger.load(str(tmp_path / "t.pt"))
    safe = tagger_from_bytes(tagger_to_bytes(tagger))
    vectors = []
    for model in (tagger, loaded, safe):
        model.eval()
        sentence = Sentence("Juan Pérez García ingresó .".split())
        model.embeddings.embed(sentence)
        vectors.append(torch.cat([token.get_embedding(model.embeddings.get_names()) for token in sentence]))
    assert torch.allclose(vectors[0], vectors[1]) and torch.equal(vectors[0], vectors[2])
