"""Pre-computing the tagger's LM embeddings before training: Flair's own ``embed`` against this package's path.

``train-ner`` embeds every training sentence once with the frozen character LMs before the first epoch
(``training.ner.precompute_static_embeddings``). This times, in one process on the same sentences, one
after the other:

- ``flair``: Flair's ``FlairEmbeddings.embed`` on batches sorted by characters, each token's vector then
  copied off the batch's states (the previous implementation);
- ``ours``: ``lm_vectors.batch_states`` on the same batches (the current implementation),

and checks that both give the same vector on every token (largest absolute difference printed).

    python benchmarks/precompute_bench.py DATA.spacy LM_FORWARD LM_BACKWARD [--docs 100] [--threads 2]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="a .spacy file (e.g. a corpus's train.spacy)")
    parser.add_argument("lm_forward", type=Path)
    parser.add_argument("lm_backward", type=Path)
    parser.add_argument("--docs", type=int, default=100, help="the first N documents")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128, help="sentences per batch (train-ner: 4 x mini-batch)")
    args = parser.parse_args()

    import torch
    from flair.embeddings import FlairEmbeddings

    from spacy_clinical_flair.docs import read_docbin
    from spacy_clinical_flair.flair_data import docs_to_flair_sentences
    from spacy_clinical_flair.lm_io import load_language_model
    from spacy_clinical_flair.training import ner

    torch.set_num_threads(args.threads)
    docs = list(read_docbin(args.data, "es"))[:args.docs]
    embeddings = [FlairEmbeddings(load_language_model(path, has_decoder=False)) for path in (args.lm_forward, args.lm_backward)]
    runs = {}
    for name in ("flair", "ours"):
        sentences = list(docs_to_flair_sentences(docs))
        ordered = sorted(sentences, key=lambda sentence: len(sentence.to_original_text()))
        started = time.perf_counter()
        with torch.no_grad():
            for embedding in embeddings:
                for i in range(0, len(ordered), args.batch_size):
                    batch = ordered[i:i + args.batch_size]
                    if name == "ours":
                        ner._embed_with_lm(embedding, batch)
                        continue
                    embedding.embed(batch)
                    for sentence in batch:
                        for token in sentence:
                            token.set_embedding(embedding.name, token.get_embedding([embedding.name]).to("cpu", copy=True))
        runs[name] = (time.perf_counter() - started, sentences)
        tokens = sum(len(sentence) for sentence in sentences)
        print(f"{name}: {len(sentences)} sentences, {tokens} tokens, {runs[name][0]:.1f} s, "
              f"{len(sentences) / runs[name][0]:.1f} sentences/s", flush=True)
    names = [embedding.name for embedding in embeddings]
    largest = max(float((a.get_embedding(names) - b.get_embedding(names)).abs().max())
                  for x, y in zip(runs["flair"][1], runs["ours"][1]) for a, b in zip(x, y))
    print(f"ours / flair speed: {runs['flair'][0] / runs['ours'][0]:.2f}x; largest difference of a vector entry: {largest:.2e}")


if __name__ == "__main__":
    main()
