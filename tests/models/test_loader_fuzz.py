"""Fuzzing the loader: mutated descriptions of real saved taggers and LMs (random JSON edits, sizes, types and
the attack shapes of test_hostile_models) load or end in the module's own error; nothing executes, memory
stays bounded. FUZZ_CASES sets the number of cases (default 1,500); benchmarks/fuzz_loader.py runs more."""
import os
import resource

from spacy_clinical_flair.models.build import build_tagger
from spacy_clinical_flair.models.tagger_format import tagger_to_bytes
from spacy_clinical_flair.training.ner import extra_embedding

from ..conftest import LABELS, REPO, sample_texts
from ..hostile import fuzz, pickle_payload, remote_code_folder


def test_mutated_descriptions_load_or_fail_cleanly(tmp_path, tiny_tagger_path, tiny_transformer, monkeypatch):
    import transformers.dynamic_module_utils as dynamic
    from flair.data import Sentence

    monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "hf-modules"))
    marker = tmp_path / "EXECUTED"
    payload, remote = pickle_payload(tmp_path, marker), remote_code_folder(tmp_path / "remote", marker)
    sentences = [Sentence(text.split()[:30]) for text in sample_texts("train")[:4]]
    extras = [extra_embedding(kind, sentences, onehot_min_freq=1) for kind in ("char", "onehot")]
    blobs = {
        "lm-tagger": tiny_tagger_path.read_bytes(),
        "char-onehot-tagger": tagger_to_bytes(build_tagger(LABELS, [], hidden_size=8, extra_embeddings=extras)),
        "transformer-tagger": tagger_to_bytes(build_tagger(LABELS, [], hidden_size=8, extra_embeddings=[
            extra_embedding(f"transformer:{tiny_transformer}", [])])),
        "lm": (REPO / "assets/lms/clinical-es-backward.safetensors").read_bytes(),
    }
    cases = int(os.environ.get("FUZZ_CASES", "1500"))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes = fuzz(blobs, cases, seed=0, payload=payload, remote=remote, weights={"transformer-tagger": 0.2})
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    failures = {name: {k: v for k, v in counts.items() if k.startswith("other")} for name, counts in outcomes.items()}
    assert not any(failures.values()), failures
    assert not marker.exists()
    assert sum(sum(c.values()) for c in outcomes.values()) == cases
    for name, counts in outcomes.items():  # the mutations reach both outcomes for every kind of file
        assert counts.get("loaded", 0) > 0 and sum(v for k, v in counts.items() if k.startswith("refused")) > 0, name
    assert grown_mb < 500, f"peak memory grew by {grown_mb:.0f} MB"
