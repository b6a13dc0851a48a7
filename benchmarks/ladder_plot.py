"""The budget ladder: dev F1 against minutes of training, per corpus, from the runs of ``lm_ladder.sh``.

    python benchmarks/ladder_plot.py RESULTS OUT.png [--system default@gpu512] [--system tagger@gpu512 ...]

RESULTS holds ``CORPUS/SYSTEM-MINUTESm-seedN/dev.json`` (``spacy evaluate`` of each run on the dev split, as
``lm_ladder.sh`` writes them and ``benchmarks/results/lm-ladder`` keeps them). Draws one panel per corpus: per
system a line through one seed's runs (``--line-seed``, default 1: the seed run at every budget, and training is
deterministic for a seed, so the line shows what more time did to the same run), each other seed a faint dot, and
the mean over seeds a hollow diamond where a budget has more than one; prints the Markdown table (mean, seeds, each
seed's F1).
"""
from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

#: The smallest F1 range a panel shows.
MIN_SPAN = 0.02
RUN = re.compile(r"^(?P<system>.+)-(?P<minutes>\d+)m-seed(?P<seed>\d+)$")
#: (corpus, system) -> minutes -> [(seed, dev F1)]
Ladder = Dict[Tuple[str, str], Dict[int, List[Tuple[int, float]]]]


def read_ladder(results: Path, systems: List[str]) -> Ladder:
    """Every run of ``systems`` under ``results`` with its dev F1 (``ents_f`` of ``dev.json``)."""
    ladder: Ladder = defaultdict(lambda: defaultdict(list))
    for dev in sorted(results.glob("*/*/dev.json")):
        match = RUN.match(dev.parent.name)
        if match and match["system"] in systems:
            score = json.loads(dev.read_text(encoding="utf-8"))["ents_f"]
            ladder[(dev.parent.parent.name, match["system"])][int(match["minutes"])].append((int(match["seed"]), score))
    return ladder


def table(ladder: Ladder) -> List[str]:
    lines = ["| corpus | system | minutes | seeds | mean dev F1 | each seed |", "|---|---|---|---|---|---|"]
    for (corpus, system), rungs in sorted(ladder.items()):
        for minutes, runs in sorted(rungs.items()):
            scores = [score for _, score in sorted(runs)]
            each = ", ".join(f"{seed}: {score:.4f}" for seed, score in sorted(runs))
            lines.append(f"| {corpus} | {system} | {minutes} | {len(scores)} | {sum(scores) / len(scores):.4f} | {each} |")
    return lines


def seed_line(rungs: Dict[int, List[Tuple[int, float]]], seed: int) -> Tuple[List[int], List[float]]:
    """(minutes, F1) of ``seed``'s runs, in order of minutes: the budgets that seed was not run at are left out."""
    points = [(minutes, score) for minutes, runs in sorted(rungs.items()) for run_seed, score in runs if run_seed == seed]
    return [minutes for minutes, _ in points], [score for _, score in points]


def plot(ladder: Ladder, out: Path, line_seed: int = 1) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corpora = sorted({corpus for corpus, _ in ladder})
    columns = 2 if len(corpora) > 1 else 1
    rows = (len(corpora) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
    for axis, corpus in zip(axes.flat, corpora):
        for (name, system), rungs in sorted(ladder.items()):
            if name != corpus:
                continue
            line, = axis.plot(*seed_line(rungs, line_seed), marker="o", label=f"{system}, seed {line_seed}")
            for m, runs in sorted(rungs.items()):
                axis.scatter([m] * len(runs), [s for _, s in runs], color=line.get_color(), alpha=0.4, s=14)
                if len(runs) > 1:
                    axis.scatter([m], [sum(s for _, s in runs) / len(runs)], marker="D", s=40,
                                 facecolors="none", edgecolors=line.get_color())
        axis.scatter([], [], marker="D", facecolors="none", edgecolors="grey", label="mean of the seeds")
        low, high = axis.get_ylim()
        if high - low < MIN_SPAN:  # at least 2 points of F1 tall, so that a difference of 0.0005 looks like one
            middle = (low + high) / 2
            axis.set_ylim(middle - MIN_SPAN / 2, middle + MIN_SPAN / 2)
        axis.set_title(corpus)
        axis.set_xlabel("minutes of training (2 CPU cores)")
        axis.set_ylabel("dev F1 (strict)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    for axis in list(axes.flat)[len(corpora):]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--line-seed", type=int, default=1, help="the seed whose runs each line joins (default: 1)")
    parser.add_argument("--system", action="append", default=None,
                        help="ROUTE@LM label of the runs to draw (repeat; default: default@gpu512)")
    args = parser.parse_args()
    ladder = read_ladder(args.results, args.system or ["default@gpu512"])
    if not ladder:
        raise SystemExit(f"no runs of {args.system or ['default@gpu512']} under {args.results}")
    print("\n".join(table(ladder)))
    plot(ladder, args.out, args.line_seed)
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
