"""Character-LM vectors by engine, side by side in one process: PyTorch fp32 and bf16, ONNX Runtime fp32 and int8.

    python benchmarks/onnx_bench.py TEXT_FOLDER [--docs 60] [--hidden 512 2048] [--repeats 2] [--output R.json]

TEXT_FOLDER holds ``.txt`` files (a BRAT folder: assets/sample/dev, or a corpus split). For each LM size, a forward
and a backward LM (512: the shipped ``assets/lms`` pair; other sizes: random weights of that size, the shipped
dictionary) compute the vectors of the first DOCS documents (whole-document context, the Flair layer's default)
with each engine; engines alternate, each timed REPEATS times, best kept. Printed per engine: documents/s, the
ratio to PyTorch fp32, the largest absolute difference of the vectors from PyTorch fp32 and the smallest cosine of a
token's vector with its fp32 one. bf16 is skipped where the CPU has no bfloat16 arithmetic.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy
import spacy
from vector_precision import token_cosines

from spacy_clinical_flair.ml.lm_vectors import VectorSettings, doc_vectors
from spacy_clinical_flair.ml.onnx_lm import lm_graph, onnx_lm, quantize_int8
from spacy_clinical_flair.ml.precision import bf16_supported, lm_at_precision
from spacy_clinical_flair.models.lm_io import load_language_model

SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "lms"


def language_models(hidden: int) -> List:
    """The shipped pair (hidden 512) or a random pair of ``hidden`` with the shipped dictionary."""
    import torch
    from flair.models import LanguageModel

    shipped = [load_language_model(SHIPPED / f"clinical-es-{d}.safetensors", has_decoder=False)
               for d in ("forward", "backward")]
    if hidden == shipped[0].hidden_size:
        return shipped
    torch.manual_seed(0)
    return [LanguageModel(lm.dictionary, is_forward_lm=lm.is_forward_lm, hidden_size=hidden, nlayers=1,
                          embedding_size=lm.embedding_size).eval() for lm in shipped]


def vector_quality(got: List[numpy.ndarray], reference: List[numpy.ndarray]) -> Dict[str, float]:
    """Largest absolute difference from the reference, and the per-token cosine (``token_cosines``)."""
    cosine, _ = token_cosines(reference, got)  # whitespace tokens, zero in both, are left out
    difference = numpy.abs(numpy.concatenate(got) - numpy.concatenate(reference))
    return {"max_abs_difference": float(difference.max()), "min_cosine": float(cosine.min()),
            "mean_cosine": float(cosine.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    import torch

    texts = [p.read_text(encoding="utf-8") for p in sorted(args.folder.glob("*.txt"))[:args.docs]]
    nlp = spacy.blank("es")
    docs = list(nlp.pipe(texts))
    settings = VectorSettings()
    results: Dict[str, Dict[str, dict]] = {}
    for hidden in args.hidden:
        lms = language_models(hidden)
        engines: Dict[str, Callable[[], List[numpy.ndarray]]] = {"torch fp32": lambda lms=lms: doc_vectors(lms, docs, settings)}
        if bf16_supported(torch.device("cpu")):
            bf16 = [lm_at_precision(lm, "bf16") for lm in lms]
            engines["torch bf16"] = lambda bf16=bf16: doc_vectors(bf16, docs, settings)
        fp32_graphs = [lm_graph(lm) for lm in lms]
        onnx_fp32 = [onnx_lm(graph, lm) for graph, lm in zip(fp32_graphs, lms)]
        onnx_int8 = [onnx_lm(quantize_int8(graph), lm) for graph, lm in zip(fp32_graphs, lms)]
        engines["onnx fp32"] = lambda lms=onnx_fp32: doc_vectors(lms, docs, settings)
        engines["onnx int8"] = lambda lms=onnx_int8: doc_vectors(lms, docs, settings)
        best = {name: float("inf") for name in engines}
        outputs: Dict[str, List[numpy.ndarray]] = {}
        with torch.inference_mode():
            for _ in range(args.repeats):
                for name, run in engines.items():
                    started = time.perf_counter()
                    outputs[name] = run()
                    best[name] = min(best[name], time.perf_counter() - started)
        rows = {}
        for name in engines:
            rows[name] = {"seconds": round(best[name], 3), "docs_per_s": round(len(docs) / best[name], 2),
                          "speed_vs_torch_fp32": round(best["torch fp32"] / best[name], 3),
                          **vector_quality(outputs[name], outputs["torch fp32"])}
        results[f"hidden {hidden}"] = rows
        print(f"\nhidden {hidden}, {len(docs)} documents, {sum(map(len, texts)):,} characters")
        print("| engine | docs/s | × torch fp32 | max abs difference | min cosine |\n|---|---|---|---|---|")
        for name, row in rows.items():
            print(f"| {name} | {row['docs_per_s']} | {row['speed_vs_torch_fp32']:.2f} | "
                  f"{row['max_abs_difference']:.2e} | {row['min_cosine']:.4f} |")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
