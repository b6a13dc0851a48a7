"""Documents per second of annotation, side by side in one run: `spacy apply`, `annotate --engine local`,
`annotate --engine ray` with 1 and 2 workers, on the same texts with the same pipeline.

    python benchmarks/annotate_bench.py PIPELINE TEXT_DIR [--limit 500] [--out /tmp/annotate-bench]

TEXT_DIR is a folder of .txt files (e.g. ../shared/data/meddocan/test: its .ann files are ignored). The
texts are first written as a JSONL file (for `spacy apply`, which reads .jsonl) holding the same documents.
Each system runs in a fresh process, one after the other; the wall clock of the whole command is measured
(start-up and pipeline loading included, as a user would see it). Prints a table and Ray's overhead at 2
workers against the local engine.
"""
import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path


def run(command, label):
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return label, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pipeline")
    parser.add_argument("text_dir", type=Path)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--out", type=Path, default=Path("/tmp/annotate-bench"))
    parser.add_argument("--shard-size", type=int, default=25,
                        help="documents per shard, both engines (several shards per Ray worker balance the load)")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    notes = args.out / "notes"
    notes.mkdir(parents=True)
    files = sorted(args.text_dir.rglob("*.txt"))[: args.limit]
    if not files:
        parser.error(f"{args.text_dir} holds no .txt files")
    with (args.out / "notes.jsonl").open("w", encoding="utf-8") as jsonl:
        for path in files:
            text = path.read_text(encoding="utf-8")
            (notes / path.name).write_text(text, encoding="utf-8")
            jsonl.write(json.dumps({"id": path.stem, "text": text}, ensure_ascii=False) + "\n")
    python = sys.executable
    annotate = [python, "-m", "spacy_clinical_flair", "annotate", args.pipeline, str(notes)]
    shards = ["--shard-size", str(args.shard_size), "--no-progress"]
    results = [
        run([python, "-m", "spacy", "apply", args.pipeline, str(args.out / "notes.jsonl"),
             str(args.out / "apply.spacy"), "--text-key", "text"], "spacy apply"),
        run([*annotate, str(args.out / "local"), *shards], "annotate --engine local"),
        run([*annotate, str(args.out / "ray1"), "--engine", "ray", "--workers", "1", *shards],
            "annotate --engine ray, 1 worker"),
        run([*annotate, str(args.out / "ray2"), "--engine", "ray", "--workers", "2", *shards],
            "annotate --engine ray, 2 workers"),
    ]
    print(f"{len(files)} documents, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB of text\n")
    print("| system | seconds | documents/s |\n|---|---|---|")
    for label, seconds in results:
        print(f"| {label} | {seconds:.1f} | {len(files) / seconds:.1f} |")
    local, ray2 = results[1][1], results[3][1]
    print(f"\nRay at 2 workers against local: {ray2 / local:.2f}x the wall clock")


if __name__ == "__main__":
    main()
