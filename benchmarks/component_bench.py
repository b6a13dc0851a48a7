"""clinical_flair_ner against raw Flair, at each precision, on the same sentences and the same trained taggers (CPU).

For each tagger (``--model NAME=PATH``: a train-tagger output folder or model.safetensors), each system runs
in a fresh process (so that its peak RSS is its own), one after the other, over the first documents of
DATA.spacy (gold entities in it; sentences as the component splits them):

* ``raw``: Flair's ``SequenceTagger.predict`` on all sentences in one call (Flair sorts them by tokens
  itself), Flair Sentences built from the spaCy tokens inside the timing, at the best mini-batch size of
  ``--batch-sizes`` (each tried once, the best reported);
* ``fp32``, ``bf16``: the component, ``nlp.pipe`` over fresh Docs, at that precision; fp32 at each of
  ``--batch-sizes`` (the best reported), the others at fp32's best batch size. bf16 is measured even on a CPU
  without bfloat16 instructions (the component itself would warn and use fp32 there): the table says whether the CPU has them;
* ``int8``: the component with its LM copies quantised by ``torch.ao.quantization.quantize_dynamic``
  (LSTM and Linear, qint8): measured to decide whether int8 pays; not a component setting;
* ``onnx``, ``onnx-int8``: the component with ``engine: "onnx"`` (ONNX Runtime runs the LMs and the tagger's
  network; the onnx extra), ``precision`` "fp32" / "int8".

Reported per system: sentences/s, peak RSS, strict micro F1 against the gold entities, and entity-level
agreement with the component at fp32 (|A ∩ B| / |A ∪ B| over (document, start, end, label)) and the number of
entities in one of the two and not the other (|A △ B|).

``--stream N`` adds the memory check: the first model's component at fp32 over N sentences (the documents
again and again, fresh Docs), RSS after 1,000 and after N sentences.

    python benchmarks/component_bench.py DATA.spacy --model base=PIPE_OR_TAGGER --model paper=TAGGER \\
        [--docs base=100,paper=12] [--systems raw,fp32,bf16,int8,onnx,onnx-int8] [--batch-sizes 32,64,128] [--stream 100000]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

from bench_memory import peak_rss_mib, rss_mib

from spacy_clinical_flair.evaluate.strict import prf_from_counts

Entity = Tuple[int, int, int, str]  # document, start char, end char, label


def load_docs(data: Path, n_docs: int):
    """(vocab, fresh unannotated copies of the first n_docs Docs, their gold entities)."""
    import spacy
    from spacy.tokens import Doc, DocBin

    nlp = spacy.blank("es")
    gold_docs = list(DocBin().from_disk(data).get_docs(nlp.vocab))[:n_docs]
    gold = {(d, ent.start_char, ent.end_char, ent.label_) for d, doc in enumerate(gold_docs) for ent in doc.ents}
    words = [([t.text for t in doc], [bool(t.whitespace_) for t in doc]) for doc in gold_docs]
    return nlp, lambda: [Doc(nlp.vocab, words=w, spaces=s) for w, s in words], gold


def tagger_file(path: str) -> str:
    folder = Path(path)
    for candidate in (folder / "model.safetensors", folder / "clinical_flair_ner" / "model.safetensors"):
        if candidate.is_file():
            return str(candidate)
    return path


def run_system(system: str, model: str, data: str, n_docs: int, batch_size: int, threads: int) -> Dict:
    """One measurement in this (fresh) process: sentences/s, peak RSS, predicted entities."""
    import torch

    torch.set_num_threads(threads)
    from spacy_clinical_flair.ml import precision as precisions
    from spacy_clinical_flair.models.flair_data import sentence_tokens, to_flair_sentence
    from spacy_clinical_flair.models.tagger_io import load_tagger
    from spacy_clinical_flair.text.sentences import ClinicalSentencizer

    nlp, fresh_docs, _ = load_docs(Path(data), n_docs)
    tagger = load_tagger(tagger_file(model))
    sentencizer = ClinicalSentencizer()
    predicted: Set[Entity] = set()
    if system == "raw":
        docs = [sentencizer(doc) for doc in fresh_docs()]
        units = [(d, tokens) for d, doc in enumerate(docs) for tokens in sentence_tokens(doc, 250)]
        warm = [to_flair_sentence(tokens) for _, tokens in units[:batch_size]]
        tagger.predict(warm, mini_batch_size=batch_size, embedding_storage_mode="none")
        start = time.perf_counter()
        sentences = [to_flair_sentence(tokens) for _, tokens in units]
        with torch.inference_mode():
            tagger.predict(sentences, mini_batch_size=batch_size, embedding_storage_mode="none")
        seconds = time.perf_counter() - start
        for (d, tokens), sentence in zip(units, sentences):
            for span in sentence.get_spans("ner"):
                first = docs[d][tokens.token_indices[span.tokens[0].idx - 1]]
                last = docs[d][tokens.token_indices[span.tokens[-1].idx - 1]]
                predicted.add((d, first.idx, last.idx + len(last.text), span.get_label("ner").value))
        n_sentences = len(units)
    else:
        engine, precision = {"int8": ("torch", "fp32"), "onnx": ("onnx", "fp32"),
                             "onnx-int8": ("onnx", "int8")}.get(system, ("torch", system))
        if precision == "bf16":  # measured whatever the CPU has; the component would fall back to fp32
            precisions.bf16_supported = lambda device: True
        nlp.add_pipe("clinical_flair_ner", config={"device": "cpu", "batch_size": batch_size, "precision": precision,
                                                    "engine": engine, "ents_policy": "replace",
                                                    "torch_threads": threads})
        ner = nlp.get_pipe("clinical_flair_ner")
        ner.set_tagger(tagger)
        if system == "int8":
            for member in ner.fast_taggers[0].members:
                member.lm = torch.ao.quantization.quantize_dynamic(
                    member.lm, {torch.nn.LSTM, torch.nn.Linear}, dtype=torch.qint8)
        docs = [sentencizer(doc) for doc in fresh_docs()]
        n_sentences = sum(len(sentence_tokens(doc)) for doc in docs)
        list(ner.pipe([sentencizer(doc) for doc in fresh_docs()[:3]]))  # warm-up
        start = time.perf_counter()
        docs = list(ner.pipe(docs))
        seconds = time.perf_counter() - start
        predicted = {(d, e.start_char, e.end_char, e.label_) for d, doc in enumerate(docs) for e in doc.ents}
    return {"sentences": n_sentences, "seconds": seconds, "peak_rss_mib": peak_rss_mib(),
            "entities": sorted(predicted)}


def run_stream(model: str, data: str, n_docs: int, total: int, threads: int) -> Dict:
    """RSS while the component streams ``total`` sentences (the documents repeated, fresh Docs)."""
    import torch

    torch.set_num_threads(threads)
    from spacy_clinical_flair.models.flair_data import sentence_tokens
    from spacy_clinical_flair.models.tagger_io import load_tagger
    from spacy_clinical_flair.text.sentences import ClinicalSentencizer

    nlp, fresh_docs, _ = load_docs(Path(data), n_docs)
    nlp.add_pipe("clinical_flair_ner", config={"device": "cpu", "ents_policy": "replace"})
    nlp.get_pipe("clinical_flair_ner").set_tagger(load_tagger(tagger_file(model)))
    sentencizer = ClinicalSentencizer()
    per_pass = sum(len(sentence_tokens(sentencizer(doc))) for doc in fresh_docs())

    def stream():
        while True:
            yield from (sentencizer(doc) for doc in fresh_docs())

    seen, marks, start = 0, {}, time.perf_counter()
    for doc in nlp.get_pipe("clinical_flair_ner").pipe(stream()):
        before, seen = seen, seen + len(sentence_tokens(doc))
        if seen >= min(1000, total) and "after_1k" not in marks:
            marks["after_1k"] = {"rss": rss_mib(), "peak": peak_rss_mib(), "sentences": seen}
        if seen // 10_000 != before // 10_000:  # every 10,000 sentences
            print(f"   stream: {seen} sentences, RSS {rss_mib():.0f} MiB, peak {peak_rss_mib():.0f} MiB", flush=True)
        if seen >= total:
            break
    marks["after_total"] = {"rss": rss_mib(), "peak": peak_rss_mib(), "sentences": seen}
    marks["seconds"] = time.perf_counter() - start
    marks["sentences_per_pass"] = per_pass
    return marks


def in_fresh_process(function, *args):
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def f1(predicted: Set[Entity], gold: Set[Entity]) -> float:
    """Strict micro F1 over all documents (entities carry their document's index)."""
    return prf_from_counts(len(predicted & gold), len(predicted), len(gold))["f"]


def agreement(a: Set[Entity], b: Set[Entity]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def bench_model(name: str, model: str, data: Path, n_docs: int, systems: Sequence[str], batch_sizes: Sequence[int],
                threads: int) -> List[Dict]:
    _, _, gold = load_docs(data, n_docs)
    rows = []
    fp32_best: Optional[int] = None
    for system in systems:
        # raw and fp32 try every batch size; the other precisions run at fp32's best
        sizes = batch_sizes if system in ("raw", "fp32") or fp32_best is None else [fp32_best]
        runs = {size: in_fresh_process(run_system, system, model, str(data), n_docs, size, threads)
                for size in sizes}
        best = min(runs, key=lambda size: runs[size]["seconds"])
        result = runs[best]
        rows.append({"model": name, "system": system, "docs": n_docs, "best_batch": best,
                     "sentences": result["sentences"], "sentences_per_s": result["sentences"] / result["seconds"],
                     "by_batch": {size: run["sentences"] / run["seconds"] for size, run in runs.items()},
                     "peak_rss_mib": result["peak_rss_mib"], "entities": set(map(tuple, result["entities"]))})
        if system == "fp32":
            fp32_best = best
        print(f"  {name} {system}: {rows[-1]['sentences_per_s']:.1f} sentences/s (batch {best})", flush=True)
    reference = next((row["entities"] for row in rows if row["system"] == "fp32"), None)
    raw = next((row for row in rows if row["system"] == "raw"), None)
    for row in rows:
        row["f1"] = f1(row["entities"], gold)
        row["agreement_fp32"] = agreement(row["entities"], reference) if reference is not None else None
        row["differing_fp32"] = len(row["entities"] ^ reference) if reference is not None else None
        row["vs_raw"] = row["sentences_per_s"] / raw["sentences_per_s"] if raw else None
        row["n_entities"] = len(row.pop("entities"))
    return rows


def parse_pairs(text: str) -> Dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="a .spacy file with gold entities (e.g. MEDDOCAN test)")
    parser.add_argument("--model", action="append", required=True, help="NAME=PATH (repeat)")
    parser.add_argument("--docs", default="", help="NAME=N per model (default 50)")
    parser.add_argument("--systems", default="raw,fp32,bf16,int8")
    parser.add_argument("--batch-sizes", default="32,64,128")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stream", type=int, default=0, help="sentences for the memory check (0: none)")
    parser.add_argument("--json", type=Path, help="write the rows here too")
    args = parser.parse_args()
    models = dict(pair.split("=", 1) for pair in args.model)
    docs = {name: int(n) for name, n in parse_pairs(args.docs).items()}
    cpu = {name: getattr(torch.cpu, f"_is_{name}_supported")() for name in ("avx512", "avx512_bf16", "amx_tile", "vnni")}
    print(f"torch {torch.__version__}, {args.threads} threads, CPU: {cpu}", flush=True)
    rows = []
    for name, model in models.items():
        rows += bench_model(name, model, args.data, docs.get(name, 50), args.systems.split(","),
                            [int(b) for b in args.batch_sizes.split(",")], args.threads)
    print("| model | system | docs | sentences | best batch | sentences/s | × raw | peak RSS MiB | F1 | agreement with fp32 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"{r['vs_raw']:.2f}" if r["vs_raw"] else ""
        agree = (f"{r['agreement_fp32']:.4f} ({r['differing_fp32']} of {r['n_entities']} differ)"
                 if r["agreement_fp32"] is not None else "")
        print(f"| {r['model']} | {r['system']} | {r['docs']} | {r['sentences']} | {r['best_batch']} | "
              f"{r['sentences_per_s']:.1f} | {ratio} | {r['peak_rss_mib']:.0f} | {r['f1']:.4f} | {agree} |")
    for r in rows:
        print(f"   {r['model']} {r['system']} sentences/s by batch size: "
              + ", ".join(f"{b}: {v:.1f}" for b, v in r["by_batch"].items()))
    stream: Optional[Dict] = None
    if args.stream:
        name, model = next(iter(models.items()))
        stream = in_fresh_process(run_stream, model, str(args.data), docs.get(name, 50), args.stream, args.threads)
        first, last = stream["after_1k"], stream["after_total"]
        print(f"memory, {name} fp32 over {last['sentences']} sentences ({stream['seconds']:.0f} s): RSS after "
              f"{first['sentences']}: {first['rss']:.0f} MiB (peak {first['peak']:.0f}), after {last['sentences']}: "
              f"{last['rss']:.0f} MiB (peak {last['peak']:.0f}): peak ratio {last['peak'] / first['peak']:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu, "rows": rows, "stream": stream}, indent=1))


if __name__ == "__main__":
    main()
