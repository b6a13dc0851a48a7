"""What the LM vectors cost before training, in float32 and in bfloat16, side by side in one run.

    python benchmarks/vector_precision.py CORPUS.spacy [CORPUS.spacy ...] [--lm-forward F --lm-backward B]
        [--repeats 2] [--budget-seconds 600]

Reads the Docs of the given .spacy files (e.g. a corpus's train and dev, as ``spacy train`` precomputes them),
then times the Flair vectors layer's ``precompute`` (what ``clinical_flair.precompute_vectors.v1`` runs before
the first step) with ``training_precision`` fp32 and bf16, alternating, ``--repeats`` times each, with the
torch threads the machine has. Prints seconds, the share of a ``--budget-seconds`` training budget, and how far
the bf16 vectors are from the fp32 ones (largest absolute difference, mean cosine similarity per token).
"""
import argparse
import time
from pathlib import Path

import numpy

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpora", type=Path, nargs="+")
    parser.add_argument("--lm-forward", default=str(REPO / "assets/lms/clinical-es-forward.safetensors"))
    parser.add_argument("--lm-backward", default=str(REPO / "assets/lms/clinical-es-backward.safetensors"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--budget-seconds", type=float, default=600.0)
    args = parser.parse_args()
    from spacy_clinical_flair.corpus.docs import read_docbin
    from spacy_clinical_flair.ml.flair_tok2vec import FlairVectors

    docs = [doc for path in args.corpora for doc in read_docbin(path)]
    chars = sum(len(doc.text) for doc in docs)
    print(f"{len(docs)} documents, {chars:,} characters, from {', '.join(map(str, args.corpora))}")
    models = {precision: FlairVectors(args.lm_forward, args.lm_backward, training_precision=precision)
              for precision in ("fp32", "bf16")}
    for model in models.values():
        model.initialize(X=docs[:1])
    seconds = {precision: [] for precision in models}
    for _ in range(args.repeats):
        for precision, model in models.items():
            shim = model.shims[0]
            shim.cache.clear()
            start = time.perf_counter()
            shim.precompute(docs)
            seconds[precision].append(time.perf_counter() - start)
    fp32 = [models["fp32"].shims[0].cache.get(key) for key in models["fp32"].shims[0].cache.entries]
    bf16 = [models["bf16"].shims[0].cache.get(key) for key in models["fp32"].shims[0].cache.entries]
    largest = max(float(numpy.abs(a - b).max()) for a, b in zip(fp32, bf16) if a.size)
    cosines, zero_rows = token_cosines(fp32, bf16)
    print(f"| vectors | seconds (each run) | best | share of {args.budget_seconds:.0f} s |\n|---|---|---|---|")
    for precision, runs in seconds.items():
        print(f"| {precision} | {', '.join(f'{s:.1f}' for s in runs)} | {min(runs):.1f} | "
              f"{100 * min(runs) / args.budget_seconds:.1f}% |")
    print(f"bf16 / fp32 time: {min(seconds['bf16']) / min(seconds['fp32']):.2f}; largest |bf16 - fp32|: "
          f"{largest:.4f}; mean cosine per token: {cosines.mean():.5f} (min {cosines.min():.5f}; "
          f"{zero_rows:,} all-zero rows in both left out)")


def token_cosines(fp32: list, bf16: list) -> tuple:
    """Cosine similarity of each row (token) of two runs of the same vectors (fp32 and bf16 here; onnx_bench.py: an
    engine and PyTorch fp32), and how many rows were all zeros in both.

    Rows that are zero in both precisions carry no vector to compare (cosine undefined), so they are left out rather
    than counted as 0; a row zero in one precision only is kept and scores 0.
    """
    a = numpy.concatenate([x for x in fp32 if x.size]).astype(numpy.float64)
    b = numpy.concatenate([y for x, y in zip(fp32, bf16) if x.size]).astype(numpy.float64)
    norm_a, norm_b = numpy.linalg.norm(a, axis=1), numpy.linalg.norm(b, axis=1)
    both_zero = (norm_a == 0) & (norm_b == 0)
    keep = ~both_zero
    cosines = (a[keep] * b[keep]).sum(1) / numpy.maximum(norm_a[keep] * norm_b[keep], 1e-30)
    return cosines, int(both_zero.sum())


if __name__ == "__main__":
    main()
