"""Validation perplexity against characters read, for runs of benchmarks/gpu_pretrain_lm.py: a PNG and a table.

    python benchmarks/lm_curve_plot.py OUT.png LABEL=LOG [LABEL=LOG ...] [--every 6]

Each LOG is the script's ``.loss.txt`` (one line per validation, ending ``characters N``); a LOG may hold
several runs one after the other (a continued run starts with a new ``start:`` line), whose characters add up.
Prints a Markdown table (every N-th validation, the first and the best of each phase) and writes the plot.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import List, Tuple

LINE = re.compile(r"valid ppl\s+([0-9.]+) \| learning rate\s+([0-9.]+) \| characters (\d+)")


def read_log(path: Path) -> List[Tuple[float, float, float]]:
    """(million characters read in all phases, valid ppl, learning rate) per validation."""
    rows: List[Tuple[float, float, float]] = []
    offset = last = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("start:") and rows:
            offset, last = offset + last, 0
        match = LINE.search(line)
        if match:
            last = int(match.group(3))
            rows.append(((offset + last) / 1e6, float(match.group(1)), float(match.group(2))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("png", type=Path)
    parser.add_argument("logs", nargs="+", help="LABEL=LOG")
    parser.add_argument("--every", type=int, default=6)
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.2))
    for item in args.logs:
        label, log = item.split("=", 1)
        rows = read_log(Path(log))
        axes.plot([r[0] for r in rows], [r[1] for r in rows], label=label)
        best = min(rows, key=lambda r: r[1])
        print(f"\n{label}: {len(rows)} validations, best ppl {best[1]:.3f} after {best[0]:.0f} M characters\n\n"
              "| M characters | valid ppl | learning rate |\n|---|---|---|")
        for i, (chars, ppl, rate) in enumerate(rows):
            if i % args.every == 0 or i == len(rows) - 1 or (chars, ppl, rate) == best:
                print(f"| {chars:.0f} | {ppl:.3f} | {rate:g} |")
    axes.set_xlabel("million training characters read")
    axes.set_ylabel("validation perplexity per character")
    axes.set_ylim(top=3.0)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(args.png, dpi=110)
    print(f"\nwrote {args.png}")


if __name__ == "__main__":
    main()
