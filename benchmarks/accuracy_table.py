"""Summarise benchmark runs as the Markdown tables of benchmarks/accuracy.md.

    python benchmarks/accuracy_table.py RUNS_DIR [--split test] [--per-label RUN RUN ...]

Every folder RUNS_DIR/SYSTEM-seedN holding SPLIT.json (spacy evaluate) is one run; RUN/seconds is its
training wall clock. Prints each run's strict micro P/R/F1, then per system the mean and sample standard
deviation of F1 over its seeds, and, with --per-label, the per-label F1 of the named runs side by side.
For the spaCy systems (trained on train, model-best chosen on dev) the system table also gives the mean
and sd of the dev F1 at which model-best was saved (RUN/model/model-best/meta.json, `performance`); the
tagger trains on train+dev and has none ("-").
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Tuple


def load(folder: Path, split: str) -> Dict[str, object]:
    metrics = json.loads((folder / f"{split}.json").read_text())
    seconds = (folder / "seconds").read_text().strip() if (folder / "seconds").is_file() else "?"
    return {"p": metrics["ents_p"], "r": metrics["ents_r"], "f": metrics["ents_f"], "seconds": seconds,
            "per_type": metrics.get("ents_per_type") or {}}


def dev_score(folder: Path) -> Optional[float]:
    """The dev F1 that spaCy recorded for the run's model-best, or None (no spaCy model-best)."""
    meta = folder / "model" / "model-best" / "meta.json"
    if not meta.is_file():
        return None
    score = json.loads(meta.read_text()).get("performance", {}).get("ents_f")
    return None if score is None else float(score)


def mean_and_sd(scores: List[float]) -> Tuple[float, float]:
    """The mean of the scores and their sample standard deviation (0.0 for one score)."""
    return statistics.mean(scores), statistics.stdev(scores) if len(scores) > 1 else 0.0


def mean_sd(scores: List[float]) -> str:
    """``mean | sd`` of the scores as two Markdown cells, "- | -" when there are none."""
    if not scores:
        return "- | -"
    mean, sd = mean_and_sd(scores)
    return f"{mean:.4f} | {sd:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--per-label", nargs="*", default=[])
    args = parser.parse_args()
    runs = {p.name: load(p, args.split) for p in sorted(args.runs.iterdir()) if (p / f"{args.split}.json").is_file()}
    print("| run | training wall clock (s) | P | R | F1 |\n|---|---|---|---|---|")
    for name, m in runs.items():
        print(f"| {name} | {m['seconds']} | {m['p']:.4f} | {m['r']:.4f} | {m['f']:.4f} |")
    systems: Dict[str, List[float]] = defaultdict(list)
    dev: Dict[str, List[float]] = defaultdict(list)
    for name, m in runs.items():
        system = re.sub(r"-(seed|s)\d+$", "", name)
        systems[system].append(float(m["f"]))
        score = dev_score(args.runs / name)
        if score is not None:
            dev[system].append(score)
    print(f"\n| system | seeds | {args.split} F1 mean | {args.split} F1 sd | {args.split} F1 min–max "
          "| dev F1 mean (model-best) | dev F1 sd |\n|---|---|---|---|---|---|---|")
    for system, scores in systems.items():
        print(f"| {system} | {len(scores)} | {mean_sd(scores)} | {min(scores):.4f}–{max(scores):.4f} "
              f"| {mean_sd(dev[system])} |")
    chosen = [run for run in args.per_label if run in runs]
    if chosen:
        labels = sorted({label for run in chosen for label in runs[run]["per_type"]})
        print("\n| label | " + " | ".join(chosen) + " |\n|---|" + "---|" * len(chosen))
        for label in labels:
            print(f"| {label} | " + " | ".join(
                f"{runs[run]['per_type'].get(label, {}).get('f', 0.0):.3f}" for run in chosen) + " |")


if __name__ == "__main__":
    main()
