"""Reading documents to annotate, and writing annotated shards atomically, for the ``annotate`` command.

Inputs: a folder of ``.txt`` files (recursive; ``.ann`` files beside them are ignored), a JSONL file of
``{"id": ..., "text": ...}`` objects (field names configurable), a ``.spacy`` file, or a Parquet file with id
and text columns. Every document comes out as an :class:`InputDocument` in a fixed order; one that cannot be
annotated (undecodable bytes, empty, longer than ``max_chars``, no text field) carries the reason instead of
text, so it is reported and skipped, never fatal.

Outputs, one shard (a fixed run of input documents) at a time, each made atomic by writing a temporary file
or folder and renaming it: ``brat`` (a folder of ``.txt``/``.ann`` pairs), ``jsonl`` (one object per document:
id and entities with offsets, label, text and score), ``parquet`` (one row per entity) and ``spacy`` (DocBin).
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

#: Output formats and the name of shard ``i`` in each.
SHARD_NAMES = {"brat": "shard-{:05d}", "jsonl": "shard-{:05d}.jsonl", "parquet": "shard-{:05d}.parquet",
               "spacy": "shard-{:05d}.spacy"}


@dataclass
class InputDocument:
    """One input document: its id and text, or the reason it cannot be annotated."""

    id: str
    text: Optional[str]
    problem: Optional[str] = None


@dataclass
class AnnotatedDocument:
    """A document's predictions: entities as ``(start_char, end_char, label, score)``; ``doc_bytes`` holds
    the whole Doc (a one-Doc DocBin) when the output format is ``spacy``."""

    id: str
    text: str
    entities: List[List[Any]]
    doc_bytes: Optional[bytes] = None


@dataclass
class ShardResult:
    """What one shard produced: annotated documents (input order) and the skipped ones with reasons."""

    index: int
    documents: List[AnnotatedDocument] = field(default_factory=list)
    skipped: List[Dict[str, str]] = field(default_factory=list)

    def stats(self) -> Dict[str, Any]:
        labels: Dict[str, int] = {}
        for document in self.documents:
            for entity in document.entities:
                labels[entity[2]] = labels.get(entity[2], 0) + 1
        return {"shard": self.index, "documents": len(self.documents), "entities": sum(labels.values()),
                "labels": labels, "skipped": self.skipped}


# ---------------------------------------------------------------------------------------------- inputs

def read_inputs(path: Path, id_field: str = "id", text_field: str = "text",
                max_chars: int = 1_000_000) -> Iterator[InputDocument]:
    """The documents of ``path`` in a fixed order, each checked (see the module docstring). A missing or
    unsupported input is an error at once, before any document is read."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; pass a folder of .txt files, a .jsonl, .spacy or .parquet file")
    if path.is_dir():
        documents = _txt_folder(path)
    elif path.suffix == ".jsonl":
        documents = _jsonl(path, id_field, text_field)
    elif path.suffix == ".spacy":
        documents = _docbin(path)
    elif path.suffix == ".parquet":
        documents = _parquet(path, id_field, text_field)
    else:
        raise ValueError(f"cannot read {path}: pass a folder of .txt files, or a .jsonl, .spacy or .parquet file")
    return (_checked(document, max_chars) for document in documents)


def _checked(document: InputDocument, max_chars: int) -> InputDocument:
    if document.problem is None:
        if not document.text or not document.text.strip():
            document.problem = "empty document"
        elif len(document.text) > max_chars:
            document.problem = f"{len(document.text)} characters, more than --max-chars {max_chars}"
    if document.problem is not None:
        document.text = None
    return document


def _txt_folder(folder: Path) -> Iterator[InputDocument]:
    for path in sorted(folder.rglob("*.txt")):
        doc_id = path.relative_to(folder).with_suffix("").as_posix()
        try:
            yield InputDocument(doc_id, path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as err:
            yield InputDocument(doc_id, None, f"not UTF-8 ({err.reason} at byte {err.start})")


def _jsonl(path: Path, id_field: str, text_field: str) -> Iterator[InputDocument]:
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                yield InputDocument(f"line {number}", None, f"not a JSON object in UTF-8 ({err})")
                continue
            doc_id = str(record.get(id_field, f"line {number}")) if isinstance(record, dict) else f"line {number}"
            text = record.get(text_field) if isinstance(record, dict) else None
            if not isinstance(text, str):
                yield InputDocument(doc_id, None, f"no string field {text_field!r}")
            else:
                yield InputDocument(doc_id, text)


def _docbin(path: Path) -> Iterator[InputDocument]:
    from .docs import DOC_ID_KEY, read_docbin

    for index, doc in enumerate(read_docbin(path)):
        yield InputDocument(str(doc.user_data.get(DOC_ID_KEY) or f"doc{index:05d}"), doc.text)


def _parquet(path: Path, id_field: str, text_field: str) -> Iterator[InputDocument]:
    parquet = _pyarrow_parquet()
    table = parquet.read_table(path)
    missing = [name for name in (id_field, text_field) if name not in table.column_names]
    if missing:
        raise ValueError(f"{path} has no column {missing[0]!r} (columns: {', '.join(table.column_names)}); "
                         "name the columns with --id-field/--text-field")
    for doc_id, text in zip(table.column(id_field).to_pylist(), table.column(text_field).to_pylist()):
        yield InputDocument(str(doc_id), text) if isinstance(text, str) else InputDocument(
            str(doc_id), None, "the text is not a string")


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as parquet
    except ImportError as err:
        raise ImportError("Parquet needs pyarrow: pip install pyarrow (or pip install -e '.[annotate]')") from err
    return parquet


# ---------------------------------------------------------------------------------------------- outputs

def shard_path(output: Path, output_format: str, index: int) -> Path:
    return Path(output) / SHARD_NAMES[output_format].format(index)


def stats_path(output: Path, index: int) -> Path:
    return Path(output) / f"shard-{index:05d}.stats.json"


def write_shard(result: ShardResult, output: Path, output_format: str) -> Path:
    """Write one shard atomically: its stats, then its data under a temporary name renamed into place.

    A shard counts as done when its data exists, so a crash at any point leaves it either complete or absent.
    """
    final = shard_path(output, output_format, result.index)
    stats = stats_path(output, result.index)
    _write_atomic(stats, lambda tmp: tmp.write_text(json.dumps(result.stats()), encoding="utf-8"))
    writers = {"brat": _write_brat, "jsonl": _write_jsonl, "parquet": _write_parquet, "spacy": _write_spacy}
    _write_atomic(final, lambda tmp: writers[output_format](result.documents, tmp))
    return final


def _write_atomic(final: Path, write) -> None:
    tmp = final.with_name(f".tmp-{os.getpid()}-{final.name}")
    if tmp.is_dir():
        shutil.rmtree(tmp)
    write(tmp)
    if final.is_dir():
        shutil.rmtree(final)
    os.replace(tmp, final)


def entity_records(document: AnnotatedDocument) -> List[Dict[str, Any]]:
    return [{"start": start, "end": end, "label": label, "text": document.text[start:end], "score": score}
            for start, end, label, score in document.entities]


def _write_jsonl(documents: Sequence[AnnotatedDocument], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for document in documents:
            out.write(json.dumps({"id": document.id, "entities": entity_records(document)}, ensure_ascii=False) + "\n")


def _write_brat(documents: Sequence[AnnotatedDocument], folder: Path) -> None:
    from .brat import write_brat_document

    folder.mkdir(parents=True)
    for document in documents:
        entities = [(f"T{number}", label, [(start, end)])
                    for number, (start, end, label, _) in enumerate(document.entities, start=1)]
        write_brat_document(folder, document.id, document.text, entities)


def _write_parquet(documents: Sequence[AnnotatedDocument], path: Path) -> None:
    import pyarrow

    rows = [{"id": document.id, **record} for document in documents for record in entity_records(document)]
    schema = pyarrow.schema([("id", pyarrow.string()), ("start", pyarrow.int64()), ("end", pyarrow.int64()),
                             ("label", pyarrow.string()), ("text", pyarrow.string()), ("score", pyarrow.float64())])
    _pyarrow_parquet().write_table(pyarrow.Table.from_pylist(rows, schema=schema), path)


def _write_spacy(documents: Sequence[AnnotatedDocument], path: Path) -> None:
    from spacy.tokens import DocBin

    merged = DocBin(store_user_data=True)
    for document in documents:
        merged.merge(DocBin(store_user_data=True).from_bytes(document.doc_bytes))
    merged.to_disk(path)
