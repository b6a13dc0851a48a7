"""What a shipped pipeline costs to run: load time, memory after loading, then the texts of a corpus through
``nlp.pipe`` at a batch size: seconds, documents and words per second, peak memory. For model cards.

    python benchmarks/pipeline_footprint.py PIPELINE TEST.spacy [--batch-size 32] [--limit N] [--output result.json]

PIPELINE is an installed package name or a folder. One process, whatever threads torch takes by default.
"""
import argparse
import json
import time
from pathlib import Path

from bench_memory import cpu_name, peak_rss_mib, rss_mib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pipeline")
    parser.add_argument("data", type=Path, help="a .spacy file whose texts are run")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit", type=int, default=0, help="the first N documents only (0: all)")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    import spacy
    from spacy.tokens import DocBin

    started = time.perf_counter()
    nlp = spacy.load(args.pipeline)
    load_seconds, loaded_mib = time.perf_counter() - started, rss_mib()
    texts = [doc.text for doc in DocBin().from_disk(args.data).get_docs(nlp.vocab)]
    texts = texts[:args.limit] if args.limit else texts
    started = time.perf_counter()
    words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=args.batch_size))
    seconds = time.perf_counter() - started
    result = {"pipeline": args.pipeline, "data": str(args.data), "documents": len(texts), "words": words,
              "batch_size": args.batch_size, "load_seconds": round(load_seconds, 2),
              "loaded_rss_mib": round(loaded_mib), "seconds": round(seconds, 2),
              "documents_per_second": round(len(texts) / seconds, 2), "words_per_second": round(words / seconds),
              "peak_rss_mib": round(peak_rss_mib()), "cpu": cpu_name()}
    print(f"{args.pipeline}: loaded in {load_seconds:.1f} s ({loaded_mib:.0f} MiB); {len(texts)} documents "
          f"({words} words) in {seconds:.1f} s at batch {args.batch_size}: {len(texts) / seconds:.2f} documents/s, "
          f"{words / seconds:.0f} words/s; peak {result['peak_rss_mib']} MiB ({result['cpu']})")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
