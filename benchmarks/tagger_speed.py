"""Training-step speed of the BiLSTM(-CRF) tagger under different settings, embeddings computed once.

Isolates the cost of the tagger's own forward/backward pass (what dominates training once the static
Flair embeddings are stored after the first epoch) from the cost of the character LMs.

    python benchmarks/tagger_speed.py TRAIN.spacy LM_FORWARD LM_BACKWARD [--sentences 1500] [--only TEXT]

LM files: .safetensors (this package's) or Flair .pt. Each configuration runs one pass of SGD steps over
the same sentences (batch as configured) and reports sentences/s; the LM embeddings are computed before
timing and stored on the CPU. "fast CRF loss" rows train with training.crf_loss.FastViterbiLoss (what
train-tagger uses), the others with Flair's ViterbiLoss.
"""
from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import torch

from spacy_clinical_flair.corpus.docs import read_docbin
from spacy_clinical_flair.models.build import build_tagger
from spacy_clinical_flair.models.flair_data import docs_to_flair_sentences
from spacy_clinical_flair.models.lm_io import load_language_model
from spacy_clinical_flair.training.crf_loss import fast_crf_loss

CONFIGS = {  # name: (hidden_size, use_crf, mini_batch_size, tag_format, fast CRF loss)
    "paper: hidden 256, CRF, batch 32": (256, True, 32, "BIOES", False),
    "no CRF (softmax), batch 32": (256, False, 32, "BIOES", False),
    "hidden 128, CRF, batch 32": (128, True, 32, "BIOES", False),
    "CRF, batch 128": (256, True, 128, "BIOES", False),
    "no CRF, hidden 128, batch 32": (128, False, 32, "BIOES", False),
    "no CRF, batch 64": (256, False, 64, "BIOES", False),
    "recipe: hidden 128, CRF, BIO, Flair's CRF loss": (128, True, 32, "BIO", False),
    "recipe: hidden 128, CRF, BIO, fast CRF loss": (128, True, 32, "BIO", True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train", type=Path)
    parser.add_argument("lm_forward", type=Path)
    parser.add_argument("lm_backward", type=Path)
    parser.add_argument("--sentences", type=int, default=1500)
    parser.add_argument("--only", default="", help="run only the configurations whose name contains this")
    args = parser.parse_args()
    from flair.embeddings import FlairEmbeddings, StackedEmbeddings
    from flair.training_utils import store_embeddings

    sentences = list(docs_to_flair_sentences(read_docbin(args.train)))[: args.sentences]
    labels = sorted({span.get_label("ner").value for s in sentences for span in s.get_spans("ner")})
    lms = [load_language_model(str(path), has_decoder=False) for path in (args.lm_forward, args.lm_backward)]
    start = time.perf_counter()
    embedder = StackedEmbeddings([FlairEmbeddings(lm) for lm in lms])
    for i in range(0, len(sentences), 64):
        embedder.embed(sentences[i:i + 64])
        store_embeddings(sentences[i:i + 64], "cpu")
    print(f"{len(sentences)} sentences, {len(labels)} labels ({4 * len(labels) + 1} BIOES / {2 * len(labels) + 1} "
          f"BIO tags + start/stop); "
          f"embedding them once: {time.perf_counter() - start:.1f} s; torch threads {torch.get_num_threads()}")
    for name, (hidden, crf, batch, tag_format, fast_loss) in CONFIGS.items():
        if args.only not in name:
            continue
        torch.manual_seed(0)
        tagger = build_tagger(labels, lms, hidden_size=hidden, use_crf=crf, tag_format=tag_format)
        tagger.train()
        optimizer = torch.optim.SGD(tagger.parameters(), lr=0.1)
        start = time.perf_counter()
        with fast_crf_loss(tagger) if fast_loss else contextlib.nullcontext():
            for i in range(0, len(sentences), batch):
                optimizer.zero_grad()
                loss, count = tagger.forward_loss(sentences[i:i + batch])
                loss.backward()
                optimizer.step()
        seconds = time.perf_counter() - start
        print(f"{name:36} {len(sentences) / seconds:8.1f} sentences/s ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
