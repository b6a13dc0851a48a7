"""A trained tagger over paper-size character LMs, for timing (component_bench.py).

The published Clinical Flair LMs (hidden 2048, forward and backward) cannot be downloaded here, and
pretraining LMs that size on 2 CPU cores is out of reach. So: forward and backward LMs of the paper's
size (1 layer, hidden 2048, character embeddings 100, the shipped base LMs' character dictionary) with
random weights, and the project's tagger recipe (configs/ner_cpu.cfg) trained on top of them on the first
DOCS documents of a training set for MINUTES. The tagger's weights are trained, so agreement between
precisions is measured on real decisions; its accuracy is not the paper's.

    python benchmarks/paper_tagger.py TRAIN.spacy DEV.spacy OUT [--docs 60] [--minutes 6]

Writes OUT/lms/{forward,backward}.safetensors, OUT/data/{train,dev}.spacy and OUT/tagger/model.safetensors.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import spacy
import torch
from spacy.tokens import DocBin

from spacy_clinical_flair.flair_models import build_language_model
from spacy_clinical_flair.lm_io import load_language_model, save_language_model

REPO = Path(__file__).resolve().parent.parent
BASE_LM = REPO / "assets" / "lms" / "clinical-es-forward.safetensors"


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
    parser.add_argument("--minutes", type=float, default=6.0, help="training budget of train-ner")
    parser.add_argument("--hidden", type=int, default=2048, help="LM hidden size (the paper: 2048)")
    args = parser.parse_args()

    dictionary = load_language_model(BASE_LM).dictionary
    torch.manual_seed(0)
    lm_files = []
    for forward in (True, False):
        lm = build_language_model(dictionary, forward, hidden_size=args.hidden, embedding_size=100)
        lm_files.append(save_language_model(lm, args.out / "lms" / f"{'forward' if forward else 'backward'}.safetensors"))
    subset(args.train, args.out / "data" / "train.spacy", args.docs)
    subset(args.dev, args.out / "data" / "dev.spacy", max(1, args.docs // 4))
    subprocess.run([sys.executable, "-m", "spacy_clinical_flair", "train-ner", str(REPO / "configs" / "ner_cpu.cfg"),
                    str(args.out / "tagger"), "--paths.train", str(args.out / "data" / "train.spacy"),
                    "--paths.dev", str(args.out / "data" / "dev.spacy"), "--paths.lm_forward", str(lm_files[0]),
                    "--paths.lm_backward", str(lm_files[1]), "--ner.max_minutes", str(args.minutes)], check=True)
    print(f"trained tagger: {args.out / 'tagger'}")


if __name__ == "__main__":
    main()
