"""The clean tables of benchmarks/accuracy.md from saved predictions: F1 per system and paired bootstraps per seed.

    python benchmarks/accuracy_compare.py OUT --corpora meddocan medprocner --splits dev test \\
        --pairs default:spacy-clinical tagger:default tagger:spacy default-lm:default vote:default [--output R.json]

Reads OUT/CORPUS/data/SPLIT.spacy (gold; ``--data ROOT``: ROOT/CORPUS/data/SPLIT.spacy) and
OUT/CORPUS/pred/SPLIT/SYSTEM-seedN.spacy (``predict_split.py``) or SYSTEM-seedN.ents.json.gz
(``prediction_entities.py``, the form kept in ``results/``); the vote's are OUT/CORPUS/vote/SPLIT-seedN/vote.spacy
from ``vote_bench.py``. Prints, in Markdown, each
system's strict F1 as mean ± sample sd over its seeds, then for each pair A:B the difference A − B of every seed
both have (paired bootstrap over documents: 95% interval and p, 10,000 resamples) and the mean difference.
"""
from __future__ import annotations

import argparse
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

import srsly
from accuracy_table import mean_and_sd
from prediction_entities import SUFFIX, read_entity_docs
from spacy.tokens import Doc

from spacy_clinical_flair.corpus.docs import read_docbin
from spacy_clinical_flair.evaluate.significance import compare_docs, strict_scores


def prediction_files(out: Path, corpus: str, split: str) -> Dict[str, Dict[int, Path]]:
    """{system: {seed: predictions}} of one corpus and split."""
    found: Dict[str, Dict[int, Path]] = defaultdict(dict)
    for pattern, suffix in ((f"*-seed*{SUFFIX}", SUFFIX), ("*-seed*.spacy", ".spacy")):  # .spacy wins
        for path in sorted((out / corpus / "pred" / split).glob(pattern)):
            match = re.fullmatch(r"(.+)-seed(\d+)", path.name[:-len(suffix)])
            if match:
                found[match.group(1)][int(match.group(2))] = path
    for path in sorted((out / corpus / "vote").glob(f"{split}-seed*/vote.spacy")):
        found["vote"][int(path.parent.name.rsplit("seed", 1)[1])] = path
    return found


def read_predictions(path: Path, gold: List[Doc]) -> List[Doc]:
    """Predicted Docs from a ``.spacy`` file or a kept entities file."""
    return read_entity_docs(path, gold) if path.name.endswith(SUFFIX) else list(read_docbin(path, "es"))


def mean_pm_sd(values: List[float]) -> str:
    """``mean ± sd`` of the seeds' scores, marked when there is one seed only."""
    mean, sd = mean_and_sd(values)
    return f"{mean:.4f} ± {sd:.4f}" + ("" if len(values) > 1 else " (1 seed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--corpora", nargs="+", default=["meddocan", "medprocner"])
    parser.add_argument("--splits", nargs="+", default=["dev", "test"])
    parser.add_argument("--pairs", nargs="*", default=["default:spacy-clinical", "tagger:default"])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--data", type=Path, help="root of CORPUS/data/SPLIT.spacy (default: OUT)")
    args = parser.parse_args()
    columns = [(corpus, split) for corpus in args.corpora for split in args.splits]
    scores: Dict[str, Dict[str, List[float]]] = defaultdict(dict)
    pairs: Dict[str, Dict[str, List[dict]]] = defaultdict(dict)
    for corpus, split in columns:
        column = f"{corpus} {split}"
        gold = list(read_docbin((args.data or args.out) / corpus / "data" / f"{split}.spacy", "es"))
        files = prediction_files(args.out, corpus, split)
        docs = {system: {seed: read_predictions(path, gold) for seed, path in seeds.items()}
                for system, seeds in files.items()}
        for system, seeds in docs.items():
            scores[system][column] = [strict_scores(gold, seeds[seed])["f"] for seed in sorted(seeds)]
        for pair in args.pairs:
            a, b = pair.split(":")
            common = sorted(set(docs.get(a, {})) & set(docs.get(b, {})))
            pairs[pair][column] = [{"seed": seed, **compare_docs(gold, docs[a][seed], docs[b][seed],
                                                                 args.samples).to_dict()} for seed in common]
    names = [f"{corpus} {split}" for corpus, split in columns]
    print("| system | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for system, by_column in scores.items():
        print(f"| {system} | " + " | ".join(mean_pm_sd(by_column[n]) if by_column.get(n) else "–" for n in names) + " |")
    for pair, by_column in pairs.items():
        print(f"\n**{pair.replace(':', ' − ')}** (F1 points; 95% interval; p)\n")
        print("| seed | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
        seeds = sorted({r["seed"] for results in by_column.values() for r in results})
        for seed in seeds:
            cells = []
            for name in names:
                result = next((r for r in by_column.get(name, []) if r["seed"] == seed), None)
                cells.append("–" if result is None else f"{100 * result['difference']:+.2f} "
                             f"({100 * result['low']:+.2f}..{100 * result['high']:+.2f}, p = {result['p_value']:.4f})")
            print(f"| {seed} | " + " | ".join(cells) + " |")
        means = [statistics.mean(100 * r["difference"] for r in by_column[n]) if by_column.get(n) else None
                 for n in names]
        print("| mean | " + " | ".join("–" if m is None else f"**{m:+.2f}**" for m in means) + " |")
    if args.output:
        srsly.write_json(args.output, {"f1": scores, "pairs": pairs})


if __name__ == "__main__":
    main()
