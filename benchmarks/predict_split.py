"""A trained pipeline's predictions on a gold split, as a ``.spacy`` file for ``compare`` and ``vote_bench.py``.

    python benchmarks/predict_split.py PIPELINE GOLD.spacy OUT.spacy [--current-tokenizer] [--precision bf16]
        [--spans-key KEY]

Runs the pipeline on the gold documents' texts (as ``spacy evaluate`` and ``compare`` do), writes the
predicted Docs in the gold file's order and prints their strict micro P/R/F1 (the counts ``compare``
resamples). ``--current-tokenizer`` loads the pipeline without its saved tokenizer data, so the tokenizer is
built from its config by this checkout's code: a pipeline trained before a tokenizer change is then scored
with the tokenizer of today (its components, e.g. ``clinical_sentencizer``, always run today's code).
``--precision``: the precision its character LMs predict at (``set_precision``; default: as saved, fp32).
``--spans-key``: score and keep the span group KEY as the entities instead of ``doc.ents`` (one head of a heads
pipeline, ``configs/clinical_heads.cfg``: ``drugs``, ``procedures``, ``symptoms``).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import spacy
from spacy.tokens import Doc, DocBin

from spacy_clinical_flair import set_precision
from spacy_clinical_flair.corpus.docs import read_docbin
from spacy_clinical_flair.evaluate.significance import strict_scores


def spans_as_entities(doc: Doc, key: str) -> Doc:
    """``doc`` with its entities replaced by its span group ``key`` (which must not overlap itself)."""
    if key not in doc.spans:
        raise SystemExit(f"The pipeline wrote no span group {key!r} (it has: {sorted(doc.spans) or 'none'}); "
                         "pass one of those to --spans-key, or leave the option out to keep doc.ents.")
    doc.set_ents(list(doc.spans[key]), default="outside")
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pipeline")
    parser.add_argument("gold", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--current-tokenizer", action="store_true")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default=None)
    parser.add_argument("--spans-key", default=None, help="span group to keep as the entities (a heads pipeline)")
    args = parser.parse_args()
    nlp = spacy.load(args.pipeline, exclude=["tokenizer"] if args.current_tokenizer else [])
    if args.precision:
        set_precision(nlp, args.precision)
    gold = list(read_docbin(args.gold, nlp.lang))
    started = time.perf_counter()
    predicted = list(nlp.pipe(doc.text for doc in gold))
    seconds = time.perf_counter() - started
    if args.spans_key:
        predicted = [spans_as_entities(doc, args.spans_key) for doc in predicted]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=predicted, store_user_data=False).to_disk(args.output)
    scores = strict_scores(gold, predicted)
    print(f"{args.pipeline} on {args.gold}: P {scores['p']:.4f} R {scores['r']:.4f} F1 {scores['f']:.4f} "
          f"({len(gold)} documents, {seconds:.0f} s) -> {args.output}")


if __name__ == "__main__":
    main()
