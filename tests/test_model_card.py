"""scripts/model_card.py: the card written into a pipeline's meta.json, for a heads pipeline (heads_eval's output)
and for a one-head pipeline (``spacy evaluate``'s output)."""
import importlib.util
import json
import subprocess
import sys

from .conftest import REPO

SPEC = importlib.util.spec_from_file_location("model_card", REPO / "scripts" / "model_card.py")
model_card = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(model_card)

EVALUATE = {"ents_p": 0.9, "ents_r": 0.6, "ents_f": 0.72, "token_acc": 1.0,
            "ents_per_type": {"FECHAS": {"p": 0.5, "r": 0.5, "f": 0.5}, "CALLE": {"p": 1.0, "r": 0.8, "f": 0.8889}}}


def test_one_head_card_orders_labels_by_f1_and_keeps_the_test_scores():
    meta = model_card.card_meta({"description": "d", "notes": "Intended use: x.\n"}, EVALUATE, "MEDDOCAN test")
    assert meta["description"] == "d"
    assert meta["performance"] == {key: EVALUATE[key] for key in ("ents_p", "ents_r", "ents_f", "ents_per_type")}
    lines = meta["notes"].splitlines()
    assert lines[0] == "Intended use: x."
    table = lines[lines.index("| label | P | R | F1 |"):]
    assert table[2:5] == ["| `CALLE` | 1.000 | 0.800 | 0.889 |", "| `FECHAS` | 0.500 | 0.500 | 0.500 |",
                          "| **all** (MEDDOCAN test) | 0.9000 | 0.6000 | **0.7200** |"]


def test_heads_card_names_each_head():
    heads = {"heads": {"drugs": {"documents": 3, "scores": {"ents_p": 1.0, "ents_r": 0.5, "ents_f": 0.6667,
                                                             "ents_per_type": {"DRUG": {"p": 1.0, "r": 0.5, "f": 0.6667}}}}}}
    meta = model_card.card_meta({}, heads)
    assert meta["performance"] == {"drugs_ents_p": 1.0, "drugs_ents_r": 0.5, "drugs_ents_f": 0.6667}
    assert "| drugs | **all** (3 documents) | 1.000 | 0.500 | **0.667** |" in meta["notes"]


def test_the_command_refuses_a_file_that_is_no_evaluation(tmp_path):
    (tmp_path / "pipe").mkdir()
    (tmp_path / "pipe" / "meta.json").write_text("{}")
    (tmp_path / "card.json").write_text("{}")
    (tmp_path / "other.json").write_text(json.dumps({"ents_f": 0.5}))
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "model_card.py"), str(tmp_path / "pipe"),
                          str(tmp_path / "card.json"), str(tmp_path / "other.json")], capture_output=True, text=True)
    assert run.returncode != 0 and "neither heads_eval's heads nor spacy evaluate's ents_per_type" in run.stderr
    assert json.loads((tmp_path / "pipe" / "meta.json").read_text()) == {}
