"""Fuzz the model loaders: mutated descriptions of real saved taggers and LMs, outcomes counted.

    python benchmarks/fuzz_loader.py [--cases 20000] [--seed 0]

The same files and mutator as tests/test_loader_fuzz.py (tests/hostile.py): a tiny tagger on two LMs, a
tagger on character + one-hot embeddings, a tagger on a 2-layer BERT built on the fly, and the shipped
backward LM. Each case makes one to three random edits of the JSON description (values replaced by the
attack shapes: file names of a pickle that writes a marker, a folder with remote code, hub ids,
trust_remote_code, *_kwargs, absurd sizes, NaN, deep nesting; keys deleted or added; classes swapped) and
loads the file. Prints the outcomes per file, whether the marker was written, and the peak memory.
"""
import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import transformers.dynamic_module_utils as dynamic
    from flair.data import Sentence

    from spacy_clinical_flair.models.build import build_tagger
    from spacy_clinical_flair.models.tagger_format import tagger_to_bytes
    from spacy_clinical_flair.training.ner import extra_embedding
    from tests.conftest import LABELS, build_tiny_transformer, random_tagger, sample_texts
    from tests.hostile import fuzz, pickle_payload, remote_code_folder

    tmp = Path(tempfile.mkdtemp())
    dynamic.HF_MODULES_CACHE = str(tmp / "hf-modules")
    marker = tmp / "EXECUTED"
    payload, remote = pickle_payload(tmp, marker), remote_code_folder(tmp / "remote", marker)
    sentences = [Sentence(text.split()[:30]) for text in sample_texts("train")[:4]]
    extras = [extra_embedding(kind, sentences, onehot_min_freq=1) for kind in ("char", "onehot")]
    blobs = {
        "lm-tagger": tagger_to_bytes(random_tagger(LABELS, seed=0)),
        "char-onehot-tagger": tagger_to_bytes(build_tagger(LABELS, [], hidden_size=8, extra_embeddings=extras)),
        "transformer-tagger": tagger_to_bytes(build_tagger(LABELS, [], hidden_size=8, extra_embeddings=[
            extra_embedding(f"transformer:{build_tiny_transformer(tmp / 'bert')}", [])])),
        "lm": (REPO / "assets/lms/clinical-es-backward.safetensors").read_bytes(),
    }
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    outcomes = fuzz(blobs, args.cases, args.seed, payload, remote, weights={"transformer-tagger": 0.2})
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| file | cases | loaded | refused (module error) | any other outcome |\n|---|---|---|---|---|")
    for name, counts in outcomes.items():
        refused = sum(v for k, v in counts.items() if k.startswith("refused"))
        other = {k: v for k, v in counts.items() if k.startswith("other")}
        loaded = counts.get("loaded", 0)
        print(f"| {name} | {sum(counts.values())} | {loaded} | {refused} | {sum(other.values())} {other or ''} |")
    print(f"\n{args.cases} cases in {seconds:.0f} s; marker written: {marker.exists()}; peak RSS {before:.0f} MB before, "
          f"{peak:.0f} MB after")


if __name__ == "__main__":
    main()
