"""clinical_flair_ner against raw Flair on the same sentences and the same model (CPU).

For each model size (random weights are fine for timing):
* raw Flair: ``SequenceTagger.predict`` on all sentences at once (Flair sorts them by length
  itself), at the best of several mini-batch sizes; Flair Sentences built from token lists;
* the component: ``nlp.pipe`` over the same tokenised Docs (sentences already set), default config;
* per document: raw ``predict`` called once per document, and the component called per Doc;
* memory: resident set size after each of several passes of ``nlp.pipe`` over the corpus.

The best batch size is picked from one run each; raw and component then alternate ``--repeats``
times (1 for the paper size) and the medians are reported.

    python benchmarks/component_bench.py CORPUS_FOLDER [--docs 60] [--sizes small,paper] [--passes 5]

CORPUS_FOLDER holds .txt files (a BRAT folder works; .ann files are ignored).
"""
from __future__ import annotations

import argparse
import gc
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List

import spacy
import torch

from spacy_clinical_flair.flair_data import sentence_tokens
from spacy_clinical_flair.flair_models import build_language_model, build_tagger, character_dictionary
from spacy_clinical_flair.sentences import ClinicalSentencizer

SIZES = {"small": {"lm_hidden": 256, "tagger_hidden": 256}, "paper": {"lm_hidden": 2048, "tagger_hidden": 256}}
LABELS = ["ENFERMEDAD", "FARMACO", "SINTOMA", "PROCEDIMIENTO", "ANATOMIA"]


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def make_tagger(texts: List[str], lm_hidden: int, tagger_hidden: int):
    torch.manual_seed(0)
    dictionary = character_dictionary(texts)
    lms = [build_language_model(dictionary, forward, hidden_size=lm_hidden) for forward in (True, False)]
    tagger = build_tagger(LABELS, lms, hidden_size=tagger_hidden)
    tagger.eval()
    return tagger


def bench_size(name: str, texts: List[str], passes: int, batch_sizes: List[int], repeats: int) -> Dict[str, float]:
    from flair.data import Sentence

    nlp = spacy.blank("es")
    ner = nlp.add_pipe("clinical_flair_ner", config={"device": "cpu"})
    ner.set_tagger(make_tagger(texts, **SIZES[name]))
    tagger = ner.tagger
    docs = [ClinicalSentencizer()(nlp.make_doc(text)) for text in texts]
    token_lists = [[[doc[i].text for i in unit.token_indices] for unit in sentence_tokens(doc)] for doc in docs]
    n_sentences = sum(len(doc_lists) for doc_lists in token_lists)

    def raw(batch_size: int) -> None:
        sentences = [Sentence(tokens) for doc_lists in token_lists for tokens in doc_lists]
        tagger.predict(sentences, mini_batch_size=batch_size, embedding_storage_mode="none")

    def raw_per_document(batch_size: int) -> None:
        for doc_lists in token_lists:
            tagger.predict([Sentence(tokens) for tokens in doc_lists], mini_batch_size=batch_size,
                           embedding_storage_mode="none")

    def fresh_docs():
        return [ClinicalSentencizer()(nlp.make_doc(text)) for text in texts]

    raw(batch_sizes[0])  # warm-up
    raw_times = {size: timed(lambda: raw(size)) for size in batch_sizes}
    best = min(raw_times, key=raw_times.get)
    # the head-to-head: alternate raw (at its best batch size) and the component, take medians
    raw_runs, component_runs, raw_doc_runs, component_doc_runs = [], [], [], []
    for _ in range(repeats):
        raw_runs.append(timed(lambda: raw(best)))
        batch = fresh_docs()
        component_runs.append(timed(lambda: list(ner.pipe(batch))))
        raw_doc_runs.append(timed(lambda: raw_per_document(best)))
        singles = fresh_docs()
        component_doc_runs.append(timed(lambda: [ner(doc) for doc in singles]))
    raw_time, component, raw_doc, component_doc = (statistics.median(runs) for runs in (
        raw_runs, component_runs, raw_doc_runs, component_doc_runs))
    memory = []
    for _ in range(passes):
        list(ner.pipe(fresh_docs()))
        gc.collect()
        memory.append(rss_mib())
    return {
        "sentences": n_sentences, "best_batch": best, "raw": n_sentences / raw_time,
        "component": n_sentences / component, "raw_per_doc": n_sentences / raw_doc,
        "component_per_doc": n_sentences / component_doc, "rss_first": memory[0], "rss_last": memory[-1],
        "raw_by_batch": {size: n_sentences / t for size, t in raw_times.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--docs", type=int, default=60, help="how many documents (sorted by name)")
    parser.add_argument("--paper-docs", type=int, default=15, help="documents for the paper-size model (slow)")
    parser.add_argument("--sizes", default="small,paper")
    parser.add_argument("--passes", type=int, default=5, help="passes of nlp.pipe for the memory figure")
    parser.add_argument("--batch-sizes", default="16,32,64,128")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs; medians are reported")
    args = parser.parse_args()
    texts = [p.read_bytes().decode("utf-8") for p in sorted(args.corpus.rglob("*.txt"))]
    print(f"torch threads: {torch.get_num_threads()}, corpus: {args.corpus}")
    header = ("size", "docs", "sents", "best bs", "raw s/s", "comp s/s", "ratio", "raw/doc s/s", "comp/doc s/s",
              "RSS MiB first->last")
    print(" | ".join(header))
    for name in args.sizes.split(","):
        subset = texts[: args.paper_docs if name == "paper" else args.docs]
        passes = max(2, args.passes // 2) if name == "paper" else args.passes
        repeats = 1 if name == "paper" else args.repeats
        r = bench_size(name, subset, passes, [int(b) for b in args.batch_sizes.split(",")], repeats)
        print(" | ".join([name, str(len(subset)), str(r["sentences"]), str(r["best_batch"]), f"{r['raw']:.1f}",
                          f"{r['component']:.1f}", f"{r['component'] / r['raw']:.2f}", f"{r['raw_per_doc']:.1f}",
                          f"{r['component_per_doc']:.1f}", f"{r['rss_first']:.0f}->{r['rss_last']:.0f}"]))
        print("   raw sentences/s by batch size: " + ", ".join(f"{b}: {v:.1f}" for b, v in r["raw_by_batch"].items()))


if __name__ == "__main__":
    main()
