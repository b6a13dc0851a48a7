"""Validation perplexity against training progress of a train-lm run, from Flair's loss.txt.

    python benchmarks/lm_curve.py benchmarks/out/pretrain [--split-chars 300000] [--chars-per-second 7500]

For each direction folder (forward/, backward/) under the run folder, one row per evaluation (after every
training split): splits done, epoch, million training characters read, validation perplexity, learning
rate, and, with --chars-per-second (a measured training speed), the minutes that many characters take at
that speed. Wall-clock minutes are not used: the pretraining here shared the machine with other work and was
paused while timed benchmarks ran, so its clock says little.
"""
import argparse
import re
from pathlib import Path

LINE = re.compile(r"^\| end of split\s+(\d+) /\s*(\d+) \| epoch\s+(\d+) \| time:\s*([0-9.]+)s \| "
                  r"valid loss [0-9.]+ \| valid ppl\s+([0-9.]+) \| learning rate\s+([0-9.]+)")


def read_curve(loss: Path, split_chars: int):
    rows = []
    for n, match in enumerate(m for m in map(LINE.match, loss.read_text(encoding="utf-8").splitlines()) if m):
        split, _, epoch, _, ppl, lr = match.groups()
        rows.append((n + 1, int(epoch), (n + 1) * split_chars / 1e6, float(ppl), float(lr)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="train-lm output folder (with forward/ and backward/)")
    parser.add_argument("--split-chars", type=int, default=300_000, help="[corpus] split_chars of the run")
    parser.add_argument("--chars-per-second", type=float, default=0.0, help="measured training speed")
    parser.add_argument("--every", type=int, default=1, help="show every N-th evaluation (and the last)")
    args = parser.parse_args()
    for direction in ("forward", "backward"):
        loss = args.run / direction / "loss.txt"
        if not loss.is_file():
            continue
        rows = read_curve(loss, args.split_chars)
        minutes = " minutes at the measured speed |" if args.chars_per_second else ""
        print(f"\n{direction}: {len(rows)} evaluations\n\n| splits | epoch | M characters |{minutes} valid ppl | "
              f"learning rate |\n|---|---|---|{'---|' if minutes else ''}---|---|")
        for i, (splits, epoch, chars, ppl, lr) in enumerate(rows):
            if (i + 1) % args.every and i + 1 != len(rows):
                continue
            extra = f" {chars * 1e6 / args.chars_per_second / 60:.0f} |" if args.chars_per_second else ""
            print(f"| {splits} | {epoch} | {chars:.1f} |{extra} {ppl:.3f} | {lr:g} |")
        best = min(rows, key=lambda row: row[3])
        print(f"\nbest: ppl {best[3]:.3f} after {best[0]} splits ({best[2]:.1f} M characters, epoch {best[1]})")


if __name__ == "__main__":
    main()
