"""Static subword vectors (floret) trained on unlabelled text, for spaCy's `include_static_vectors`.

    python benchmarks/floret_vectors.py OUT_DIR TEXT_DIR_OR_SPACY_FILE [...] [--dim 100] [--epochs 10]

Reads every .txt under the folders (BRAT folders: the .txt files) and the texts of .spacy files, tokenizes
them with the clinical tokenizer (so the vectors' words are the pipeline's tokens), lowercases nothing,
trains floret (cbow, subwords of 3-5 characters, 2 hashes per entry) and writes OUT_DIR/vectors.floret
and OUT_DIR/spacy (a `spacy init vectors --mode floret` folder for [initialize] vectors / paths.vectors).
Needs `pip install floret`.
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def texts(sources):
    from spacy_clinical_flair.training.lm_corpus import gather_texts

    spacy_files = [Path(s) for s in sources if str(s).endswith(".spacy")]
    folders = [Path(s) for s in sources if not str(s).endswith(".spacy")]
    return gather_texts(spacy_files, folders)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("sources", nargs="+")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--bucket", type=int, default=50000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import floret

    from spacy_clinical_flair.text.tokenizer import blank_pipeline

    started = time.perf_counter()
    nlp = blank_pipeline("es")
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
        n_tokens = 0
        for doc in nlp.pipe(texts(args.sources)):
            words = [t.text for t in doc if not t.is_space]
            n_tokens += len(words)
            handle.write(" ".join(words) + "\n")
    model = floret.train_unsupervised(handle.name, model="cbow", mode="floret", hashCount=2, bucket=args.bucket,
                                      minn=3, maxn=5, minCount=2, dim=args.dim, epoch=args.epochs,
                                      thread=args.threads, verbose=0)
    model.save_floret_vectors(str(args.output / "vectors.floret"))
    Path(handle.name).unlink()
    subprocess.run([sys.executable, "-m", "spacy", "init", "vectors", "es", str(args.output / "vectors.floret"),
                    str(args.output / "spacy"), "--mode", "floret"], check=True, stdout=subprocess.DEVNULL)
    print(f"floret vectors: {n_tokens} tokens, dim {args.dim}, bucket {args.bucket}, "
          f"{time.perf_counter() - started:.0f} s -> {args.output / 'spacy'}")


if __name__ == "__main__":
    main()
