"""BRAT → DocBin → BRAT on a real corpus: does every ``T``, ``#`` and ``N`` line come back?

Converts each folder with ``convert_brat_folder``, writes the DocBin's ``brat`` span group back with
``export_docs_to_brat`` and compares, document by document, the lines read from the original ``.ann``
with those read from the written one: ``T`` lines as (id, label, fragments) after the converter's
whitespace trimming (the only change it makes, counted in its report), ``#`` and ``N`` lines exactly
(id, type, target, reference, text). Relations, events and attributes are not kept and are listed as such.

    python benchmarks/brat_roundtrip.py CORPUS_FOLDER [CORPUS_FOLDER ...] [--output result.json]

Exit status 1 when any kept line did not come back.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Dict

import spacy
import srsly

from spacy_clinical_flair.corpus.brat import BratDocument, read_brat_folder
from spacy_clinical_flair.corpus.convert import convert_brat_folder
from spacy_clinical_flair.corpus.export import export_docs_to_brat
from spacy_clinical_flair.corpus.flatten import trim_fragment


def expected_t_lines(doc: BratDocument) -> set:
    """The T lines as the converter keeps them: fragments trimmed of edge whitespace, whitespace-only ones gone."""
    kept = set()
    for entity in doc.entities:
        fragments = tuple(f for f in (trim_fragment(doc.text, fragment) for fragment in entity.fragments) if f[0] < f[1])
        if fragments:
            kept.add((entity.id, entity.label, _joined(doc.text, fragments)))
    return kept


def _joined(text: str, fragments) -> tuple:
    """Fragments with whitespace-only gaps joined (as the reader joins what the writer split at line breaks)."""
    joined = [list(fragments[0])]
    for start, end in fragments[1:]:
        if not text[joined[-1][1]:start].strip():
            joined[-1][1] = end
        else:
            joined.append([start, end])
    return tuple(tuple(f) for f in joined)


def note_lines(doc: BratDocument) -> set:
    return {(n.id, n.kind, n.type, n.target, n.reference, n.text) for n in doc.notes}


def roundtrip(folder: Path) -> Dict[str, object]:
    originals, _ = read_brat_folder(folder)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        docbin, report = convert_brat_folder(folder, progress=False)
        docs = list(docbin.get_docs(spacy.blank("es").vocab))
        export_docs_to_brat(docs, out / "brat", spans_key="brat")
        back = {doc.doc_id: doc for doc in read_brat_folder(out / "brat")[0]}
    counts: Counter = Counter()
    for original in originals:
        again = back[original.doc_id]
        t_in, t_out = expected_t_lines(original), {(e.id, e.label, _joined(again.text, e.fragments)) for e in again.entities}
        n_in, n_out = note_lines(original), note_lines(again)
        counts["t_lines"] += len(t_in)
        counts["t_lines_not_placeable"] += original.invalid_t_lines + len(original.entities) - len(t_in)
        counts["t_lines_back"] += len(t_in & t_out)
        counts["notes_and_normalizations"] += len(n_in)
        counts["notes_and_normalizations_back"] += len(n_in & n_out)
        counts["lines_not_in_original"] += len(t_out - t_in) + len(n_out - n_in)
        counts["documents_exact"] += t_in == t_out and n_in == n_out
    return {"folder": str(folder), "documents": len(originals), **counts,
            "trimmed": report.changes.get("trimmed", 0), "not_kept": dict(report.other_lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    results = [roundtrip(folder) for folder in args.folders]
    for result in results:
        print(srsly.json_dumps(result))
    if args.output:
        srsly.write_json(args.output, results)
    lost = any(r["t_lines_back"] != r["t_lines"] or r["notes_and_normalizations_back"] != r["notes_and_normalizations"]
               or r["lines_not_in_original"] for r in results)
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
