"""Validation perplexity against training time of a train-lm run, from Flair's loss.txt.

    python benchmarks/lm_curve.py benchmarks/out/pretrain [--every-minutes 30]

For each direction folder (forward/, backward/) under the run folder: training minutes so far, counted as
splits done x the median of Flair's per-split "time:" (the pretraining was paused with SIGSTOP while
timed benchmarks ran, which inflates the time of the split in progress; validation passes are not counted), epoch,
split, validation perplexity, learning rate, at every evaluation (or the last one of each
--every-minutes interval), as a Markdown table; the best perplexity and when it was reached.
"""
import argparse
import re
from pathlib import Path

LINE = re.compile(r"^\| end of split\s+(\d+) /\s*(\d+) \| epoch\s+(\d+) \| time:\s*([0-9.]+)s \| "
                  r"valid loss [0-9.]+ \| valid ppl\s+([0-9.]+) \| learning rate\s+([0-9.]+)")


def read_curve(loss: Path):
    import statistics

    matches = [m.groups() for m in map(LINE.match, loss.read_text(encoding="utf-8", errors="replace").splitlines()) if m]
    if not matches:
        return []
    per_split = statistics.median(float(m[3]) for m in matches)
    return [((n + 1) * per_split / 60, int(epoch), int(split), float(ppl), float(lr))
            for n, (split, splits, epoch, _, ppl, lr) in enumerate(matches)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="train-lm output folder (with forward/ and backward/)")
    parser.add_argument("--every-minutes", type=float, default=0.0, help="one row per interval (0: every row)")
    args = parser.parse_args()
    for direction in ("forward", "backward"):
        log = args.run / direction / "loss.txt"
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
