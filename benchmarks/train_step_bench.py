"""Training-step speed of a spaCy config with thinc's BLIS against numpy's BLAS (clinical_flair.blas_ops.v1),
side by side in one process: same pipeline, same batches, alternating rounds.

    python benchmarks/train_step_bench.py CONFIG DATA_DIR [--docs 120] [--batch 8] [--steps 12] [--rounds 3]
        [--set section.key=value ...]

DATA_DIR holds train.spacy and dev.spacy (``python -m spacy_clinical_flair convert``). Where the config
has [paths] lm_forward/lm_backward, they are set to the shipped base LMs. Each round times ``--steps``
``nlp.update`` calls of ``--batch`` documents on each pipeline (after 3 warm-up steps); the report gives
tokens per second of each and their ratio per round and in total, as JSON on stdout.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Dict, List

import spacy
from spacy.training import Corpus, Example
from spacy.training.initialize import init_nlp
from spacy.util import load_config, minibatch
from thinc.api import Adam, fix_random_seed

REPO = Path(__file__).resolve().parents[1]
BASE_LMS = {"paths.lm_forward": str(REPO / "assets/lms/clinical-es-forward.safetensors"),
            "paths.lm_backward": str(REPO / "assets/lms/clinical-es-backward.safetensors")}


def build(config_path: Path, data: Path, docs: int, blas: bool, extra: Dict[str, object]) -> spacy.Language:
    paths = load_config(config_path, interpolate=False)["paths"]
    lms = {key: value for key, value in BASE_LMS.items() if key.split(".")[1] in paths}
    overrides = {**lms, "paths.train": str(data / "train.spacy"), "paths.dev": str(data / "dev.spacy"),
                 "corpora.train.limit": docs, "corpora.dev.limit": 2,
                 "nlp.after_pipeline_creation": {"@callbacks": "clinical_flair.blas_ops.v1", "enabled": blas},
                 **extra}
    config = load_config(config_path, overrides=overrides, interpolate=False)
    fix_random_seed(0)
    return init_nlp(config)


def time_steps(nlp: spacy.Language, batches: List[List[Example]], optimizer: Adam) -> float:
    started = time.perf_counter()
    for batch in batches:
        nlp.update(batch, sgd=optimizer, drop=0.1, losses={})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--docs", type=int, default=120)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. nlp.tokenizer={\"@tokenizers\":\"clinical_flair.tokenizer.v1\"}")
    args = parser.parse_args()
    extra = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    pipelines = {name: build(args.config, args.data, args.docs, name == "blas", extra) for name in ("blis", "blas")}
    examples = list(Corpus(str(args.data / "train.spacy"), limit=args.docs)(pipelines["blis"]))
    batches = list(minibatch(examples, args.batch))[: 3 + args.steps]
    tokens = sum(len(example.reference) for batch in batches[3:] for example in batch)
    optimizers = {name: Adam(0.001) for name in pipelines}
    for name, nlp in pipelines.items():
        time_steps(nlp, batches[:3], optimizers[name])
    rounds = []
    for _ in range(args.rounds):
        seconds = {name: time_steps(nlp, batches[3:], optimizers[name]) for name, nlp in pipelines.items()}
        rounds.append({"blis_tokens_per_s": tokens / seconds["blis"], "blas_tokens_per_s": tokens / seconds["blas"],
                       "ratio": seconds["blis"] / seconds["blas"]})
    total = {name: sum(tokens / r[f"{name}_tokens_per_s"] for r in rounds) for name in pipelines}
    print(json.dumps({"config": str(args.config), "data": str(args.data), "docs": args.docs, "batch": args.batch,
                      "steps": args.steps, "tokens_per_round": tokens, "rounds": rounds,
                      "ratio": total["blis"] / total["blas"]}, indent=1))


if __name__ == "__main__":
    main()
