"""Validation perplexity against wall-clock time of a train-lm run, from Flair's training.log.

    python benchmarks/lm_curve.py benchmarks/out/pretrain [--every-minutes 30]

For each direction folder (forward/, backward/) under the run folder: minutes since the first log line,
epoch, split, validation perplexity, learning rate, at every evaluation (or the last one of each
--every-minutes interval), as a Markdown table; the best perplexity and when it was reached.
"""
import argparse
import datetime
import re
from pathlib import Path

LINE = re.compile(r"^(\S+ \S+) \| end of split\s+(\d+) /\s*(\d+) \| epoch\s+(\d+) \| time:\s*[0-9.]+s \| "
                  r"valid loss [0-9.]+ \| valid ppl\s+([0-9.]+) \| learning rate\s+([0-9.]+)")


def read_curve(log: Path):
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    stamp = lambda text: datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f")
    start = stamp(" ".join(lines[0].split()[:2]))
    rows = []
    for line in lines:
        match = LINE.match(line)
        if match:
            when, split, splits, epoch, ppl, lr = match.groups()
            rows.append(((stamp(when) - start).total_seconds() / 60, int(epoch), int(split), float(ppl), float(lr)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="train-lm output folder (with forward/ and backward/)")
    parser.add_argument("--every-minutes", type=float, default=0.0, help="one row per interval (0: every row)")
    args = parser.parse_args()
    for direction in ("forward", "backward"):
        log = args.run / direction / "training.log"
        if not log.is_file():
            continue
        rows = read_curve(log)
        print(f"\n{direction}: {len(rows)} evaluations\n\n| minutes | epoch | split | valid ppl | learning rate |\n|---|---|---|---|---|")
        shown = []
        for row in rows:
            if args.every_minutes and shown and int(row[0] // args.every_minutes) == int(shown[-1][0] // args.every_minutes):
                shown[-1] = row
            else:
                shown.append(row)
        for minutes, epoch, split, ppl, lr in shown:
            print(f"| {minutes:.0f} | {epoch} | {split} | {ppl:.3f} | {lr:g} |")
        if rows:
            best = min(rows, key=lambda row: row[3])
            print(f"\nbest: ppl {best[3]:.3f} after {best[0]:.0f} minutes (epoch {best[1]}, split {best[2]})")


if __name__ == "__main__":
    main()
