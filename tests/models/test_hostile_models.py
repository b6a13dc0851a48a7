"""Loading a model file never runs code: each attack is shown live against Flair itself, then refused.

Each attack writes a marker file when it executes. The "live" half of a test feeds the attack to the
Flair or transformers call that the description used to reach unchecked and sees the marker appear; the
other half loads a crafted file through this package and sees the module's own error and no marker.
"""
import copy
import json
import struct
from pathlib import Path

import pytest
import spacy

from spacy_clinical_flair.models.build import build_tagger, character_dictionary
from spacy_clinical_flair.models.lm_io import LMFileError, lm_from_bytes, lm_to_bytes
from spacy_clinical_flair.models.tagger_format import TAGGER_FILE, TaggerFormatError, tagger_from_bytes, tagger_to_bytes
from spacy_clinical_flair.training.ner import extra_embedding

from ..conftest import LABELS, REPO, random_tagger, sample_texts
from ..hostile import edit_description, join_blob, pickle_payload, remote_code_folder, split_blob

LM_FILE = REPO / "assets/lms/clinical-es-forward.safetensors"


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "EXECUTED"


def char_tagger_blob() -> bytes:
    from flair.data import Sentence

    sentences = [Sentence(text.split()[:30]) for text in sample_texts("train")[:4]]
    tagger = build_tagger(LABELS, [], hidden_size=8, extra_embeddings=[extra_embedding("char", sentences)])
    return tagger_to_bytes(tagger)


def pipeline_folder(tmp_path: Path, blob: bytes) -> Path:
    """A pipeline saved by spaCy with a clinical_flair_ner component, whose tagger file is then replaced."""
    from spacy_clinical_flair.models.tagger_format import save_tagger

    good = save_tagger(random_tagger(LABELS),
                       tmp_path / "good.safetensors")
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(good)})
    nlp.initialize()
    folder = tmp_path / "pipeline"
    nlp.to_disk(folder)
    good.unlink()
    (folder / "clinical_flair_ner" / TAGGER_FILE).write_bytes(blob)
    return folder


def test_path_to_char_dict_unpickles_in_flair_and_is_refused_here(tmp_path, marker):
    from flair.embeddings import CharacterEmbeddings

    payload = pickle_payload(tmp_path, marker)
    try:  # live: Flair unpickles the named file
        CharacterEmbeddings.from_params({"path_to_char_dict": str(payload)})
    except Exception:
        pass
    assert marker.exists()
    marker.unlink()

    def point_at_payload(description):
        description["embeddings"]["parameters"]["path_to_char_dict"] = str(payload)

    crafted = edit_description(char_tagger_blob(), point_at_payload)
    with pytest.raises(TaggerFormatError, match="path_to_char_dict must be a dictionary stored in the file"):
        tagger_from_bytes(crafted, "crafted.safetensors")
    folder = pipeline_folder(tmp_path, crafted)
    with pytest.raises(TaggerFormatError, match=r"clinical_flair_ner.*model.safetensors.*may not name a file"):
        spacy.load(folder)
    assert not marker.exists()


def test_transformer_without_its_saved_files_imports_code_in_flair_and_is_refused_here(
        tmp_path, marker, monkeypatch, tiny_transformer):
    import transformers.dynamic_module_utils as dynamic
    from flair.embeddings import TransformerWordEmbeddings

    monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "hf-modules"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = remote_code_folder(tmp_path / "remote", marker)
    try:  # live: trust_remote_code imports the folder's Python file
        TransformerWordEmbeddings(str(folder), trust_remote_code=True)
    except Exception:
        pass
    assert marker.exists()
    marker.unlink()

    tagger = build_tagger(LABELS, [], hidden_size=8, extra_embeddings=[extra_embedding(f"transformer:{tiny_transformer}", [])])
    blob = tagger_to_bytes(tagger)
    attacks = {
        "saved files dropped, model pointed at the folder": lambda p: (
            p.pop("tokenizer_data"), p.pop("config_state_dict"), p.update(model=str(folder), trust_remote_code=True)),
        "model kwargs": lambda p: p.update(transformers_model_kwargs={"trust_remote_code": True}),
        "tokenizer kwargs": lambda p: p.update(transformers_tokenizer_kwargs={"trust_remote_code": True}),
        "peft": lambda p: p.update(peft_config={"task_type": "x"}),
        "auto_map in the config": lambda p: p["config_state_dict"].update(
            auto_map={"AutoModel": "evil_config.EvilConfig"}),
    }
    messages = {"saved files dropped, model pointed at the folder": "unknown parameter",
                "model kwargs": "unknown parameter", "tokenizer kwargs": "unknown parameter",
                "peft": "unknown parameter", "auto_map in the config": "may not import or fetch code"}
    for name, attack in attacks.items():
        def apply(description, attack=attack):
            attack(description["embeddings"]["parameters"])

        crafted = edit_description(blob, apply)
        with pytest.raises(TaggerFormatError, match=messages[name]):
            tagger_from_bytes(crafted, name)
    assert not marker.exists()
    assert tagger_from_bytes(blob).embeddings.embedding_length == tagger.embeddings.embedding_length


def test_a_tokenizer_zip_with_remote_code_or_paths_is_refused(tiny_transformer):
    import base64
    import io
    import zipfile

    tagger = build_tagger(LABELS, [], hidden_size=8, extra_embeddings=[extra_embedding(f"transformer:{tiny_transformer}", [])])
    blob = tagger_to_bytes(tagger)

    def zipped(files):
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as archive:
            for name, content in files.items():
                archive.writestr(name, content)
        return {"__base64__": base64.b64encode(data.getvalue()).decode("ascii")}

    cases = {
        "auto_map": (zipped({"tokenizer_config.json": json.dumps({"auto_map": {"AutoTokenizer": ["x.T", None]}})}),
                     "may not import or fetch code"),
        "code file": (zipped({"evil.py": "import os"}), "no folders or code"),
        "path": (zipped({"../../evil.json": "{}"}), "no folders or code"),
        "unknown class": (zipped({"tokenizer_config.json": json.dumps({"tokenizer_class": "EvilTokenizer"})}),
                          "not one this package loads"),
        "a class transformers ships that unpickles": (
            zipped({"tokenizer_config.json": json.dumps({"tokenizer_class": "TransfoXLTokenizer"})}),
            "not one this package loads"),
        "vocab_file": (zipped({"tokenizer_config.json": json.dumps({"tokenizer_class": "BertTokenizer",
                                                                    "vocab_file": "/etc/hostname"})}),
                       r"key\(s\) 'vocab_file'"),
        "a file key deeper down": (zipped({"tokenizer_config.json": json.dumps(
            {"tokenizer_class": "BertTokenizer", "added_tokens_decoder": {"0": {"merges_file": "x"}}})}),
            "may not name a file"),
        "an absolute value": (zipped({"tokenizer_config.json": json.dumps(
            {"tokenizer_class": "BertTokenizer", "unk_token": "/etc/hostname"}), "tokenizer.json": "{}"}),
            "may not name a file"),
        "a parent folder": (zipped({"special_tokens_map.json": json.dumps({"pad_token": "../../secret"})}),
                            "may not name a file"),
        "kwargs": (zipped({"tokenizer_config.json": json.dumps({"tokenizer_class": "BertTokenizer",
                                                                "sp_model_kwargs": {}})}), "may not have"),
        "no tokenizer.json": (zipped({"tokenizer_config.json": json.dumps({"tokenizer_class": "BertTokenizer"})}),
                              "must hold tokenizer_config.json and tokenizer.json"),
        "not a zip": ({"__base64__": "bm90IGEgemlw"}, "not a zip"),
    }
    for name, (value, message) in cases.items():
        crafted = edit_description(blob, lambda d, value=value: d["embeddings"]["parameters"].update(tokenizer_data=value))
        with pytest.raises(TaggerFormatError, match=message):
            tagger_from_bytes(crafted, name)


def test_a_stored_tokenizer_that_names_an_outside_vocab_reads_it_in_transformers_and_is_refused_here(
        tmp_path, tiny_transformer):
    """The review's reproduction: tokenizer_config.json with an absolute vocab_file and no tokenizer.json."""
    import base64
    import io
    import zipfile

    from transformers import AutoTokenizer

    outside = tmp_path / "outside-vocab.txt"
    outside.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nMARKERWORD\n", encoding="utf-8")
    files = {"tokenizer_config.json": json.dumps({"tokenizer_class": "BertTokenizer", "vocab_file": str(outside)})}
    folder = tmp_path / "unzipped"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))  # live: the vocabulary comes from the outside file
    assert "MARKERWORD" in tokenizer.get_vocab()

    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    value = {"__base64__": base64.b64encode(data.getvalue()).decode("ascii")}
    tagger = build_tagger(LABELS, [], hidden_size=8, extra_embeddings=[extra_embedding(f"transformer:{tiny_transformer}", [])])
    crafted = edit_description(tagger_to_bytes(tagger),
                               lambda d: d["embeddings"]["parameters"].update(tokenizer_data=value))
    with pytest.raises(TaggerFormatError, match="vocab_file"):
        tagger_from_bytes(crafted, "crafted.safetensors")


def test_sizes_are_checked_against_the_tensors_before_building(monkeypatch):
    import spacy_clinical_flair.models.lm_io as lm_io

    built = []
    real_build = lm_io._build_lm
    monkeypatch.setattr(lm_io, "_on_cpu", lambda build: built.append(1) or build())
    lm = lm_from_bytes(LM_FILE.read_bytes())
    assert built == [1] and lm.hidden_size == 512
    built.clear()
    # a 444-byte file whose config claims hidden size 2,500 (Flair would allocate ~400 MB to build it)
    small = lm_to_bytes(__import__("spacy_clinical_flair.models.build", fromlist=["x"]).build_language_model(
        character_dictionary(["ab"]), True, hidden_size=1, embedding_size=1))
    crafted = edit_description(small, lambda c: c.update(hidden_size=2500))
    with pytest.raises(LMFileError, match=r"would be \(10000, 1\), the file holds \(4, 1\)"):
        lm_from_bytes(crafted, what="tiny.safetensors")
    assert built == [] and real_build is lm_io._build_lm


@pytest.mark.parametrize("name, change, message", [
    ("description is a list", lambda d: [1, 2], "must be a JSON object"),
    ("nested 50,000 deep", lambda d: "__deep_nesting__", "not valid JSON"),
    ("dictionary of numbers", lambda d: d["tag_dictionary"].update(items=[1, 2]), "must be a text"),
    ("stack in a stack", lambda d: d["embeddings"]["embeddings"].append(copy.deepcopy(d["embeddings"])),
     "'StackedEmbeddings' is not one this package loads"),
    ("huge hidden size", lambda d: d["parameters"].update(hidden_size=10 ** 9), "must be at most 8192"),
    ("wrong hidden size", lambda d: d["parameters"].update(hidden_size=7), "does not match the tensors"),
])
def test_malformed_tagger_descriptions_end_in_the_module_error(tiny_tagger_path, name, change, message):
    crafted = edit_description(tiny_tagger_path.read_bytes(), change)
    with pytest.raises(TaggerFormatError, match=message) as caught:
        tagger_from_bytes(crafted, f"{name}.safetensors")
    assert f"{name}.safetensors" in str(caught.value)


def test_malformed_headers_and_tensors_end_in_the_module_error(tiny_tagger_path):
    blob = tiny_tagger_path.read_bytes()
    header, body = split_blob(blob)
    name = next(k for k in header if k != "__metadata__")
    wrong_offsets = json.loads(json.dumps(header))
    wrong_offsets[name]["data_offsets"] = [0, len(body) + 10]
    wrong_dtype = json.loads(json.dumps(header))
    wrong_dtype[name]["dtype"] = "F8_E4M3"
    cases = {
        "offsets": (join_blob(wrong_offsets, body), "outside the file"),
        "dtype": (join_blob(wrong_dtype, body), "is not one a model file holds"),
        "claims a huge header": (struct.pack("<Q", 2 ** 62) + blob[8:], "more than the file holds"),
        "metadata not strings": (join_blob({**header, "__metadata__": {"clinical_flair_format": 1}}, body),
                                 "map of strings"),
    }
    for case, (data, message) in cases.items():
        with pytest.raises(TaggerFormatError, match=message):
            tagger_from_bytes(data, case)
    lm = LM_FILE.read_bytes()
    for data, message in ((lm[:len(lm) // 2], "outside the file"),
                          (edit_description(lm, lambda c: c.update(nlayers="2")), "whole number"),
                          (edit_description(lm, lambda c: c["dictionary"].update(items=["a", "a"])), "duplicate")):
        with pytest.raises(LMFileError, match=message):
            lm_from_bytes(data, what="lm.safetensors")


def test_the_flair_layer_refuses_a_crafted_lm_inside_tok2vec(tmp_path):
    import srsly

    from spacy_clinical_flair.ml.flair_tok2vec import FlairLMShim

    crafted = edit_description(LM_FILE.read_bytes(), lambda c: c.update(hidden_size=4096))
    shim = FlairLMShim.__new__(FlairLMShim)
    with pytest.raises(LMFileError, match="Flair vectors layer, LM 0.*does not match the tensors"):
        FlairLMShim.from_bytes(shim, srsly.msgpack_dumps({"lms": [crafted]}))
    for data in (b"\xc1garbage", srsly.msgpack_dumps({"lms": "x"}), srsly.msgpack_dumps([1])):
        with pytest.raises(LMFileError, match="Flair vectors layer"):
            FlairLMShim.from_bytes(shim, data)
