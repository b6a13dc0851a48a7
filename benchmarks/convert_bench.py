"""Documents per second converting a BRAT folder, side by side with the floor.

The floor is the least any converter must do: read each .txt, run spaCy's tokenizer and add the
Doc to a DocBin. Ours also reads and validates the .ann, flattens, splits tokens at entity edges,
sets ents, the span group and sentence boundaries. Both run in the same process, alternating,
on the same files; the ratio is ours / floor.

    python benchmarks/convert_bench.py CORPUS_FOLDER [--repeats 3] [--lang es]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import spacy
from spacy.tokens import DocBin

from spacy_clinical_flair.corpus.brat import find_brat_files
from spacy_clinical_flair.corpus.convert import convert_brat_folder


def floor(folder: Path, nlp) -> int:
    files, _ = find_brat_files(folder)
    docbin = DocBin(store_user_data=True)
    for path, _ in files:
        docbin.add(nlp.make_doc(path.read_bytes().decode("utf-8")))
    docbin.to_bytes()
    return len(files)


def ours(folder: Path, nlp) -> int:
    docbin, report = convert_brat_folder(folder, nlp=nlp, progress=False)
    docbin.to_bytes()
    return report.documents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="BRAT folder (NAME.txt + NAME.ann)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lang", default="es")
    args = parser.parse_args()
    nlp = spacy.blank(args.lang)
    times = {"floor": [], "ours": []}
    documents = 0
    for _ in range(args.repeats):
        for name, run in (("floor", floor), ("ours", ours)):
            start = time.perf_counter()
            documents = run(args.folder, nlp)
            times[name].append(time.perf_counter() - start)
    rates = {name: documents / statistics.median(values) for name, values in times.items()}
    print(f"corpus: {args.folder} ({documents} documents), median of {args.repeats} runs each")
    print(f"{'':8} {'docs/s':>10} {'seconds':>9}")
    for name in ("floor", "ours"):
        print(f"{name:8} {rates[name]:10.1f} {statistics.median(times[name]):9.3f}")
    print(f"ratio ours/floor: {rates['ours'] / rates['floor']:.2f} (1.00 = as fast as tokenising alone)")


if __name__ == "__main__":
    main()
