"""Summarise the runs of benchmarks/accuracy.sh as the Markdown tables of benchmarks/accuracy.md.

    python benchmarks/accuracy_table.py benchmarks/out/acc

Reads RUN/test.json (spacy evaluate) and RUN/seconds of every run folder: spacy-seedN, recipe-seedN
recipe-onehot-seedN (the first version of the recipe) and ablation-* ; prints strict micro P/R/F1 per run, mean and sample standard deviation per system,
and per-label F1 of spacy-seed1 and recipe-seed1.
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Dict, List


def load(folder: Path) -> Dict[str, float]:
    metrics = json.loads((folder / "test.json").read_text())
    seconds = (folder / "seconds").read_text().strip() if (folder / "seconds").is_file() else "?"
    return {"p": metrics["ents_p"], "r": metrics["ents_r"], "f": metrics["ents_f"], "seconds": seconds}


def per_label(root: Path, runs: List[str]) -> None:
    """Per-label strict F1 of the given runs side by side (labels by test frequency of the first run)."""
    tables = {run: json.loads((root / run / "test.json").read_text())["ents_per_type"] for run in runs}
    labels = sorted({label for table in tables.values() for label in table})
    print("\n| label | " + " | ".join(runs) + " |\n|---|" + "---|" * len(runs))
    for label in labels:
        print(f"| {label} | " + " | ".join(f"{tables[run].get(label, {}).get('f', 0.0):.3f}" for run in runs) + " |")


def main(root: Path) -> None:
    runs = {p.name: load(p) for p in sorted(root.iterdir()) if (p / "test.json").is_file()}
    print("| run | train wall clock (s) | P | R | F1 |\n|---|---|---|---|---|")
    for name, m in runs.items():
        print(f"| {name} | {m['seconds']} | {m['p']:.4f} | {m['r']:.4f} | {m['f']:.4f} |")
    print("\n| system | seeds | F1 mean | F1 sd | F1 min–max |\n|---|---|---|---|---|")
    for system in ("spacy", "recipe", "recipe-onehot"):
        scores: List[float] = [m["f"] for name, m in runs.items() if name.startswith(f"{system}-seed")]
        if scores:
            sd = statistics.stdev(scores) if len(scores) > 1 else 0.0
            print(f"| {system} | {len(scores)} | {statistics.mean(scores):.4f} | {sd:.4f} | "
                  f"{min(scores):.4f}–{max(scores):.4f} |")
    pair = [name for name in ("spacy-seed1", "recipe-seed1") if name in runs]
    if pair:
        per_label(root, pair)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/out/acc"))
