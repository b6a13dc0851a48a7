"""Predictions kept small: a split's predicted entities as gzipped JSON, read back as Docs for the paired bootstrap.

    python benchmarks/prediction_entities.py PRED.spacy OUT.ents.json.gz

A ``.spacy`` file of predictions holds every token (about 1 MB for a dev split); the bootstrap needs only each
document's entities as character offsets, about 30 kB gzipped, small enough to keep beside the run's results so a
later session can pair a new run with it. Each document is stored with its length and a digest of its text, and
:func:`read_entity_docs` refuses a file whose documents are not the gold file's, in its order.
``accuracy_compare.py`` reads ``NAME-seedN.ents.json.gz`` beside ``NAME-seedN.spacy``.
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Iterable, List

import srsly
from spacy.tokens import Doc

from spacy_clinical_flair.corpus.docs import read_docbin
from spacy_clinical_flair.evaluate.strict import entities

SUFFIX = ".ents.json.gz"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def write_entities(docs: Iterable[Doc], path: Path) -> None:
    """Each document's length, text digest and entities (start_char, end_char, label), in order."""
    records = [{"chars": len(doc.text), "sha256": text_digest(doc.text), "entities": entities(doc)} for doc in docs]
    path.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_gzip_json(path, records)


def read_entity_docs(path: Path, gold: List[Doc]) -> List[Doc]:
    """The stored entities on Docs of the gold documents' texts (one token per character, so every stored span
    lands exactly on its characters), in the gold file's order; a ValueError when the documents differ."""
    records = srsly.read_gzip_json(path)
    if len(records) != len(gold):
        raise ValueError(f"{path} holds {len(records)} documents, the gold file {len(gold)}")
    docs = []
    for number, (record, gold_doc) in enumerate(zip(records, gold)):
        text = gold_doc.text
        if record["chars"] != len(text) or record["sha256"] != text_digest(text):
            raise ValueError(f"{path}: document {number} is not the gold file's document {number}")
        doc = Doc(gold_doc.vocab, words=list(text), spaces=[False] * len(text))
        doc.ents = [doc.char_span(start, end, label=label) for start, end, label in record["entities"]]
        docs.append(doc)
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", type=Path, help="a .spacy file of predicted Docs (predict_split.py)")
    parser.add_argument("output", type=Path, help=f"where the entities go (…{SUFFIX})")
    args = parser.parse_args()
    write_entities(read_docbin(args.predictions, "es"), args.output)
    print(f"{args.predictions} -> {args.output} ({args.output.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
