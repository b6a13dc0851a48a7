"""A trained pipeline's predictions on a gold split, as a ``.spacy`` file for ``compare`` and ``vote_bench.py``.

    python benchmarks/predict_split.py PIPELINE GOLD.spacy OUT.spacy [--current-tokenizer] [--precision bf16]

Runs the pipeline on the gold documents' texts (as ``spacy evaluate`` and ``compare`` do), writes the
predicted Docs in the gold file's order and prints their strict micro P/R/F1 (the counts ``compare``
resamples). ``--current-tokenizer`` loads the pipeline without its saved tokenizer data, so the tokenizer is
built from its config by this checkout's code: a pipeline trained before a tokenizer change is then scored
with the tokenizer of today (its components, e.g. ``clinical_sentencizer``, always run today's code).
``--precision``: the precision its character LMs predict at (``set_precision``; default: as saved, fp32).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import spacy
from spacy.tokens import DocBin

from spacy_clinical_flair import set_precision
from spacy_clinical_flair.corpus.docs import read_docbin
from spacy_clinical_flair.evaluate.significance import strict_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pipeline")
    parser.add_argument("gold", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--current-tokenizer", action="store_true")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default=None)
    args = parser.parse_args()
    nlp = spacy.load(args.pipeline, exclude=["tokenizer"] if args.current_tokenizer else [])
    if args.precision:
        set_precision(nlp, args.precision)
    gold = list(read_docbin(args.gold, nlp.lang))
    started = time.perf_counter()
    predicted = list(nlp.pipe(doc.text for doc in gold))
    seconds = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=predicted, store_user_data=False).to_disk(args.output)
    scores = strict_scores(gold, predicted)
    print(f"{args.pipeline} on {args.gold}: P {scores['p']:.4f} R {scores['r']:.4f} F1 {scores['f']:.4f} "
          f"({len(gold)} documents, {seconds:.0f} s) -> {args.output}")


if __name__ == "__main__":
    main()
