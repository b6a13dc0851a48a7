"""A pipeline of several heads (configs/clinical_heads.cfg) against its single-type pipelines: accuracy and speed.

    python benchmarks/heads_eval.py PIPELINE --head drugs PHARMACONER_TEST.spacy PHARMACONER_PIPELINE \\
        --head procedures MEDPROCNER_TEST.spacy MEDPROCNER_PIPELINE --head symptoms SYMPTEMIST_TEST.spacy ... \\
        [--speed-data TEST.spacy] [--output result.json]

For each head (``KEY GOLD SINGLE``): the heads pipeline predicts GOLD's texts and its span group KEY is scored
against GOLD's entities (strict micro and per-label P/R/F1, spaCy's ``Scorer.score_spans``); the single-type
pipeline SINGLE predicts the same texts (``doc.ents``); the two are compared by the paired bootstrap over
documents (``evaluate.significance``). Speed: the heads pipeline over the texts of ``--speed-data`` (default: the
first head's GOLD) against the single pipelines one after the other over the same texts, in this process, each
after a warm-up on two documents, best of ``--repeats``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Dict, List, Sequence, Set, Tuple

import spacy
from bench_memory import cpu_name
from spacy.scorer import Scorer
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from spacy_clinical_flair.evaluate.significance import document_counts, paired_bootstrap

Entity = Tuple[int, int, str]


def read(path: Path, vocab) -> List[Doc]:
    return list(DocBin().from_disk(path).get_docs(vocab))


def entity_sets(spans_per_doc: Sequence[Sequence]) -> List[Set[Entity]]:
    return [{(s.start_char, s.end_char, s.label_) for s in spans} for spans in spans_per_doc]


def scores(gold: List[Doc], predicted: List[Doc], key: str) -> Dict:
    """Strict P/R/F1 (micro and per label) of span group ``key`` of ``predicted`` against ``gold``'s entities."""
    examples = []
    for gold_doc, doc in zip(gold, predicted):
        copy = Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
        copy.ents = [copy.char_span(s.start_char, s.end_char, s.label_) for s in doc.spans[key]]
        examples.append(Example(copy, gold_doc))
    return Scorer.score_spans(examples, "ents")


def timed(nlp, texts: List[str], repeats: int) -> float:
    list(nlp.pipe(texts[:2]))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in nlp.pipe(texts):
            pass
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pipeline")
    parser.add_argument("--head", action="append", nargs=3, required=True, metavar=("KEY", "GOLD", "SINGLE"),
                        help="a head's span-group key, its gold .spacy file and its single-type pipeline (repeat)")
    parser.add_argument("--speed-data", type=Path)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    heads = spacy.load(args.pipeline)
    result: Dict = {"pipeline": args.pipeline, "heads": {}}
    singles = {}
    for key, gold_path, single_path in args.head:
        single = singles[key] = spacy.load(single_path)
        gold = read(Path(gold_path), heads.vocab)
        texts = [doc.text for doc in gold]
        shared_docs = list(heads.pipe(texts))
        single_docs = list(single.pipe(texts))
        gold_sets = entity_sets([doc.ents for doc in gold])
        shared_sets = entity_sets([doc.spans[key] for doc in shared_docs])
        single_sets = entity_sets([doc.ents for doc in single_docs])
        test = paired_bootstrap(document_counts(gold_sets, shared_sets), document_counts(gold_sets, single_sets))
        head = {"gold": gold_path, "single": single_path, "documents": len(gold),
                "identical_entities": shared_sets == single_sets, "shared_minus_single": test.to_dict(),
                "scores": scores(gold, shared_docs, key)}
        result["heads"][key] = head
        s = head["scores"]
        print(f"{key}: P {s['ents_p']:.4f} R {s['ents_r']:.4f} F1 {s['ents_f']:.4f} ({len(gold)} documents); "
              f"single pipeline: {test.summary('shared', 'single')}; identical entities: {head['identical_entities']}")
        for label, row in sorted(s["ents_per_type"].items()):
            print(f"  {label}: P {row['p']:.4f} R {row['r']:.4f} F1 {row['f']:.4f}")
    speed_path = args.speed_data or Path(args.head[0][1])
    texts = [doc.text for doc in read(speed_path, heads.vocab)]
    shared_seconds = timed(heads, texts, args.repeats)
    single_seconds = {key: timed(nlp, texts, args.repeats) for key, nlp in singles.items()}
    result["speed"] = {"data": str(speed_path), "documents": len(texts), "heads_seconds": shared_seconds,
                       "single_seconds": single_seconds, "cpu": cpu_name()}
    total = sum(single_seconds.values())
    print(f"speed on {len(texts)} documents of {speed_path}: heads pipeline {shared_seconds:.1f} s, the "
          f"{len(singles)} single pipelines {total:.1f} s ({', '.join(f'{k} {v:.1f}' for k, v in single_seconds.items())}): "
          f"{total / shared_seconds:.2f}x")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
