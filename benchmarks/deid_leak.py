"""How much gold PHI survives de-identification with a pipeline: MEDDOCAN test with the shipped model.

    python benchmarks/deid_leak.py PIPELINE BRAT_FOLDER OUT.json [--operator surrogate] [--predictions CACHE.jsonl]
        [--no-propagate] [--no-recall-rules] [--no-recall-spans] [--recall-entities OTHER_MODEL.ents.json.gz]

Runs PIPELINE (e.g. ``es_meddocan_flair``) on every note of BRAT_FOLDER (``.txt`` + ``.ann``), de-identifies each
with its predicted entities and recall spans (a second model's entities where the first found nothing; the span
group ``deid_recall``) (:class:`spacy_clinical_flair.deid.deidentify.Deidentifier`, every label the same
operator, a fixed benchmark key so that reruns agree; scope: the note), and measures against the gold ``.ann``
entities (all of them, nested and discontinuous included, before any flattening) with
:mod:`spacy_clinical_flair.deid.leak`: the share of gold PHI characters copied into the output unchanged, and the
gold strings still found in the output as whole words, in total, per label, and for the strings the model found.
The report offsets of every note are checked on the way (a wrong offset stops the run). ``--predictions`` keeps the
predicted entities in a file, so other operators can be measured without predicting again.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Dict

import srsly
from prediction_entities import text_digest

from spacy_clinical_flair.corpus.brat import read_brat_folder
from spacy_clinical_flair.deid.component import recall_entities
from spacy_clinical_flair.deid.deidentify import (
    NOTE_OTHER_MODEL,
    NOTE_PROPAGATED,
    NOTE_RECALL_RULE,
    OPERATORS,
    Deidentifier,
    DeidSettings,
    text_scope,
)
from spacy_clinical_flair.deid.keys import DeidKey
from spacy_clinical_flair.deid.leak import LeakReport, add_document

BENCHMARK_KEY = DeidKey(b"benchmarks/deid_leak.py: a public key for a public corpus", given=True)


def predictions(pipeline: str, documents, cache: Path | None) -> Dict[str, dict]:
    """doc id -> ``{"entities": [...], "recall": [...]}``, the predicted ``doc.ents`` and the recall spans (another
    model's entities, :func:`~spacy_clinical_flair.deid.component.recall_entities`) as (start, end, label); from
    ``cache`` when it exists, else by running the pipeline."""
    if cache is not None and cache.exists():
        return {row["id"]: {"entities": row["entities"], "recall": row.get("recall", [])}
                for row in srsly.read_jsonl(cache)}
    import spacy

    nlp = spacy.load(pipeline)
    started = time.perf_counter()
    found = {document.doc_id: {"entities": [[e.start_char, e.end_char, e.label_] for e in doc.ents],
                               "recall": [list(entity) for entity in recall_entities(doc)]}
             for document, doc in zip(documents, nlp.pipe(d.text for d in documents))}
    print(f"predicted {len(documents)} notes in {time.perf_counter() - started:.0f} s")
    if cache is not None:
        srsly.write_jsonl(cache, [{"id": doc_id, **found_here} for doc_id, found_here in found.items()])
    return found


def use_kept_recall(found: Dict[str, dict], documents, path: Path) -> None:
    """Set each document's recall spans to another model's kept entities for the same text (matched by digest);
    a document missing from the file stops the run."""
    kept = {row["sha256"]: row["entities"] for row in srsly.read_gzip_json(path)}
    for document in documents:
        digest = text_digest(document.text)
        if digest not in kept:
            raise SystemExit(f"{path} has no prediction for {document.doc_id}: not the same notes")
        found[document.doc_id]["recall"] = kept[digest]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pipeline")
    parser.add_argument("brat_folder", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--operator", choices=OPERATORS, default="surrogate")
    parser.add_argument("--predictions", type=Path, default=None)
    parser.add_argument("--no-propagate", action="store_true", help="do not replace other mentions of found texts")
    parser.add_argument("--no-recall-rules", action="store_true", help="replace only what the pipeline found")
    parser.add_argument("--no-recall-spans", action="store_true", help="leave out the second model's entities")
    parser.add_argument("--recall-entities", type=Path, default=None,
                        help="another model's kept predictions on the same notes (prediction_entities.py's "
                             ".ents.json.gz) as the recall spans, instead of the pipeline's own")
    args = parser.parse_args()
    documents, problems = read_brat_folder(args.brat_folder)
    if problems:
        print(f"{len(problems)} problems reading the gold files, e.g. {problems[0]}")
    found = predictions(args.pipeline, documents, args.predictions)
    if args.recall_entities is not None:
        use_kept_recall(found, documents, args.recall_entities)
    settings = DeidSettings(default_operator=args.operator, propagate=not args.no_propagate,
                            recall_rules=not args.no_recall_rules, recall_spans=not args.no_recall_spans)
    deidentifier = Deidentifier(settings, BENCHMARK_KEY)
    report = LeakReport()
    non_gold: Dict[str, int] = {}
    for document in documents:
        entities = [tuple(entity) for entity in found[document.doc_id]["entities"]]
        more = [tuple(entity) for entity in found[document.doc_id]["recall"]]
        result = deidentifier.deidentify(document.text, entities, text_scope(document.text), more)
        gold = [(entity.label, entity.fragments) for entity in document.entities]
        add_document(report, document.doc_id, document.text, gold, result)
        count_non_gold(non_gold, result, gold)
    summary = {"pipeline": args.pipeline, "corpus": str(args.brat_folder), "notes": len(documents),
               "operator": args.operator, "propagate": settings.propagate, "recall_rules": settings.recall_rules,
               "recall_spans": settings.recall_spans,
               **report.summary(), "replaced_non_gold_chars": non_gold}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    print_table(summary)


def count_non_gold(counts: Dict[str, int], result, gold) -> None:
    """Add the characters each source replaced that are no gold PHI (what replacing costs the note; white space
    not counted), by source: the model, a second model (the recall spans), the recall rules, propagation."""
    covered = {position for _, ranges in gold for start, end in ranges for position in range(start, end)}
    for replacement in result.replacements:
        source = next((name for note, name in SOURCES.items() if replacement.note.startswith(note)), "model")
        extra = sum(not char.isspace() and replacement.start + offset not in covered
                    for offset, char in enumerate(replacement.text))
        counts[source] = counts.get(source, 0) + extra


#: How a replacement's report note begins -> where the entity came from (the model's entities: no such note).
SOURCES = {NOTE_OTHER_MODEL: "second model", NOTE_RECALL_RULE: "rules", NOTE_PROPAGATED: "propagation"}


def print_table(summary: dict) -> None:
    print("| label | gold characters | surviving | gold strings | in output | found by the model | found, in output |")
    print("|---|---|---|---|---|---|---|")
    rows = [*summary["labels"].items(), ("**total**", summary["total"])]
    for label, c in rows:
        print(f"| {label} | {c['gold_chars']} | {c['surviving_chars']} ({c['surviving_char_share']:.2%}) | "
              f"{c['strings']} | {c['strings_in_output']} ({c['string_share']:.2%}) | {c['found_strings']} | "
              f"{c['found_strings_in_output']} |")
    costs = ", ".join(f"{source} {count}" for source, count in sorted(summary["replaced_non_gold_chars"].items()))
    print(f"\ncharacters replaced that are no gold PHI (white space not counted): {costs}")


if __name__ == "__main__":
    main()
