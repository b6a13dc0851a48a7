"""A trained tagger over paper-size character LMs, for timing (component_bench.py).

The published Clinical Flair LMs (hidden 2048, forward and backward) cannot be downloaded here, and
pretraining LMs that size on 2 CPU cores is out of reach. So: forward and backward LMs of the paper's
size (1 layer, hidden 2048, character embeddings 100, the shipped base LMs' character dictionary) whose
first 512 hidden units are the trained base LM of the same direction, copied weight for weight (those
units read only each other, so their states are the base LM's states), and whose other 1536 units are
random. The arithmetic is that of a dense 2048 LSTM; the features carry what the base LM learnt. The
project's tagger recipe (configs/ner_cpu.cfg) is then trained on top on the first DOCS documents of a
training set for MINUTES, so agreement between precisions is measured on real decisions; its accuracy is
not the paper's.

    python benchmarks/paper_tagger.py TRAIN.spacy DEV.spacy OUT [--docs 60] [--minutes 6] [--lms-only]

Writes OUT/lms/{forward,backward}.safetensors, OUT/data/{train,dev}.spacy and OUT/tagger/model.safetensors
(``--lms-only``: the LMs alone, e.g. for timing their vectors with vector_precision.py).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import spacy
import torch
from spacy.tokens import DocBin

from spacy_clinical_flair.models.build import build_language_model
from spacy_clinical_flair.models.lm_io import load_language_model, save_language_model

REPO = Path(__file__).resolve().parent.parent
BASE_LMS = {True: REPO / "assets" / "lms" / "clinical-es-forward.safetensors",
            False: REPO / "assets" / "lms" / "clinical-es-backward.safetensors"}


def embed_base(lm, base) -> None:
    """Copy ``base`` (a smaller trained LSTM LM) into the first hidden units of ``lm``, gate by gate."""
    small, large = base.hidden_size, lm.hidden_size
    with torch.no_grad():
        lm.encoder.weight.copy_(base.encoder.weight)
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            target, source = getattr(lm.rnn, name), getattr(base.rnn, name)
            for gate in range(4):  # PyTorch's LSTM gate blocks: input, forget, cell, output
                rows, base_rows = slice(gate * large, gate * large + small), slice(gate * small, (gate + 1) * small)
                if name == "weight_hh_l0":
                    target[rows, :small] = source[base_rows]
                    target[rows, small:] = 0  # the copied units do not read the random ones
                else:
                    target[rows] = source[base_rows]


def subset(source: Path, target: Path, docs: int) -> None:
    nlp = spacy.blank("es")
    kept = list(DocBin().from_disk(source).get_docs(nlp.vocab))[:docs]
    target.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=kept, store_user_data=True).to_disk(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train", type=Path)
    parser.add_argument("dev", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--docs", type=int, default=60, help="training documents (the first ones)")
    parser.add_argument("--minutes", type=float, default=6.0, help="training budget of train-tagger")
    parser.add_argument("--hidden", type=int, default=2048, help="LM hidden size (the paper: 2048)")
    parser.add_argument("--lms-only", action="store_true", help="write the LMs and stop (no tagger)")
    args = parser.parse_args()

    torch.manual_seed(0)
    lm_files = []
    for forward in (True, False):
        base = load_language_model(BASE_LMS[forward])
        lm = build_language_model(base.dictionary, forward, hidden_size=args.hidden, embedding_size=100)
        embed_base(lm, base)
        lm_files.append(save_language_model(lm, args.out / "lms" / f"{'forward' if forward else 'backward'}.safetensors"))
    if args.lms_only:
        print(f"LMs: {args.out / 'lms'}")
        return
    subset(args.train, args.out / "data" / "train.spacy", args.docs)
    subset(args.dev, args.out / "data" / "dev.spacy", max(1, args.docs // 4))
    subprocess.run([sys.executable, "-m", "spacy_clinical_flair", "train-tagger", str(REPO / "configs" / "ner_cpu.cfg"),
                    str(args.out / "tagger"), "--paths.train", str(args.out / "data" / "train.spacy"),
                    "--paths.dev", str(args.out / "data" / "dev.spacy"), "--paths.lm_forward", str(lm_files[0]),
                    "--paths.lm_backward", str(lm_files[1]), "--ner.max_minutes", str(args.minutes)], check=True)
    print(f"trained tagger: {args.out / 'tagger'}")


if __name__ == "__main__":
    main()
