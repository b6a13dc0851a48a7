"""benchmarks/gpu_pretrain_lm.py, the Flair-free LM trainer for the lent GPU machines, against Flair itself.

The script carries its own copy of Flair's character-LM model and text handling (those machines have no Flair);
these tests check the copy on the CPU: the same parameters give the same outputs as Flair's ``LanguageModel``,
the same text gives the same character indices as Flair's ``TextDataset``, and a model it trains is a file this
package loads, whose validation perplexity computed by Flair's own trainer code is the one the script logged.
"""
from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path

import pytest
import torch

from spacy_clinical_flair.models import lm_io
from spacy_clinical_flair.models.build import build_language_model, character_dictionary

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


script = _load("gpu_pretrain_lm")

TEXTS = ["El paciente presenta fiebre de 38,5 ºC y tos seca desde hace tres días.",
         "Se pauta paracetamol 1 g cada 8 horas; evolución favorable.",
         "Antecedentes: HTA, DM tipo 2. No alergias medicamentosas conocidas."]


def test_file_format_constants_are_the_packages():
    assert (script.FORMAT_KEY, script.FORMAT, script.CONFIG_KEY) == (lm_io.FORMAT_KEY, lm_io.FORMAT, lm_io.CONFIG_KEY)


@pytest.mark.parametrize("is_forward", [True, False])
def test_model_matches_flairs_language_model(is_forward):
    lm = build_language_model(character_dictionary(TEXTS), is_forward, hidden_size=24, nlayers=1,
                              embedding_size=12, dropout=0.1).eval()
    copy = script.CharLM(len(lm.dictionary), 24, 1, 12, 0.1)
    copy.load_state_dict(lm.state_dict(), strict=True)  # the same parameter names and shapes
    copy.eval()
    ids = torch.randint(0, len(lm.dictionary), (30, 4))
    with torch.no_grad():
        flair_logits, _, flair_hidden = lm.forward(ids, lm.init_hidden(4))
        logits, hidden = copy(ids, copy.init_hidden(4, torch.device("cpu")))
    assert torch.allclose(logits, flair_logits, atol=1e-6)
    assert torch.allclose(hidden[0], flair_hidden[0], atol=1e-6)


def test_text_indices_match_flairs_text_dataset(tmp_path):
    from flair.trainers.language_model_trainer import TextDataset

    dictionary = character_dictionary(TEXTS[:2])  # TEXTS[2] has characters the dictionary lacks: <unk>
    corpus = tmp_path / "valid.txt"
    corpus.write_text("\n".join(TEXTS) + "\n☃ñ\n", encoding="utf-8")
    codes = script.CharCodes(dictionary.get_items())
    text = "".join(script.read_documents(corpus))
    for forward in (True, False):
        expected = TextDataset(corpus, dictionary, forward=forward, random_case_flip=False, shuffle=False)[0]
        ids = codes.encode(text)
        assert torch.equal(ids if forward else ids.flip(0), expected)
    assert (codes.encode("☃") == 0).all() and dictionary.get_item_for_index(0) == "<unk>"


def test_trained_file_loads_and_its_logged_perplexity_is_flairs(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        lm_perplexity = _load("lm_perplexity")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    corpus = tmp_path / "corpus"
    (corpus / "train").mkdir(parents=True)
    sentences = [f"{text} Caso {n}." for n in range(60) for text in TEXTS]
    (corpus / "train" / "train_split_1").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    (corpus / "valid.txt").write_text("\n".join(TEXTS * 4) + "\n", encoding="utf-8")
    (corpus / "test.txt").write_text("\n".join(TEXTS * 4) + "\n", encoding="utf-8")
    base = build_language_model(character_dictionary(sentences), True, hidden_size=16, nlayers=1,
                                embedding_size=8, dropout=0.0)
    lm_io.save_language_model(base, tmp_path / "base.safetensors")
    out = tmp_path / "backward.safetensors"
    args = script.parse_args([str(corpus), str(out), "--dictionary-from", str(tmp_path / "base.safetensors"),
                              "--hidden", "20", "--embedding-size", "8", "--direction", "backward", "--batch", "8",
                              "--eval-batch", "4", "--seq", "40", "--eval-chars", "3000", "--minutes", "0.05",
                              "--cpu"])
    script.train(args)
    lm = lm_io.load_language_model(out)
    assert not lm.is_forward_lm and lm.hidden_size == 20
    assert lm.dictionary.get_items() == base.dictionary.get_items()
    logged = [float(v) for v in re.findall(r"valid ppl ([0-9.]+)", out.with_suffix(".loss.txt").read_text())]
    assert len(logged) >= 2 and min(logged) < len(base.dictionary)  # learnt something: better than uniform
    flair_ppl = lm_perplexity.perplexity(out, corpus, "valid", batch=4, sequence_length=40)
    assert math.isclose(flair_ppl, min(logged), rel_tol=2e-3)  # float16 file vs float32 in training
