"""Reading documents to annotate, and writing annotated shards atomically, for the ``annotate`` command.

Inputs: a folder of ``.txt`` files (recursive; ``.ann`` files beside them are ignored), a JSONL file of
``{"id": ..., "text": ...}`` objects (field names configurable), a ``.spacy`` file, or a Parquet file with id
and text columns. :func:`plan_input` cuts the input into shards of a fixed run of documents without reading
their text; :func:`read_shard` reads one shard (in this process or on a Ray worker). Every document comes
out as an :class:`InputDocument`; one that cannot be annotated (undecodable bytes, empty, longer than
``max_chars``, no text field) carries the reason instead of text, so it is reported and skipped, never fatal.

Outputs, one shard (a fixed run of input documents) at a time, each made atomic by writing a temporary file
or folder and renaming it: ``brat`` (a folder of ``.txt``/``.ann`` pairs), ``jsonl`` (one object per document:
id and entities with offsets, label, text and score), ``parquet`` (one row per entity) and ``spacy`` (DocBin).
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

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

@dataclass
class InputPlan:
    """Where each shard's documents are in the input, found without reading any text: the driver of a job
    plans, and whoever annotates shard ``i`` (this process or a Ray worker) reads just that shard.

    ``kind`` is ``txt`` (``locators``: each shard's file paths relative to ``path``), ``jsonl`` (each shard's
    byte range and first line number), ``parquet`` or ``spacy`` (each shard's first and end row).
    """

    path: str
    kind: str
    locators: List[Any]
    id_field: str = "id"
    text_field: str = "text"
    max_chars: int = 1_000_000

    @property
    def shards(self) -> int:
        return len(self.locators)

    def shard_documents(self, index: int) -> int:
        """How many documents shard ``index`` holds (no reading)."""
        locator = self.locators[index]
        if self.kind == "txt":
            return len(locator)
        return locator[3] if self.kind == "jsonl" else locator[1] - locator[0]

    def documents(self) -> int:
        return sum(self.shard_documents(index) for index in range(self.shards))


def plan_input(path: Path, shard_size: int, id_field: str = "id", text_field: str = "text",
               max_chars: int = 1_000_000) -> InputPlan:
    """Cut the input into shards of ``shard_size`` documents (see :class:`InputPlan`). A missing or
    unsupported input is an error that says what to pass."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; pass a folder of .txt files, a .jsonl, .spacy or .parquet file")
    if path.is_dir():
        files = [p.relative_to(path).as_posix() for p in sorted(path.rglob("*.txt"))]
        kind, locators = "txt", [files[i:i + shard_size] for i in range(0, len(files), shard_size)]
    elif path.suffix == ".jsonl":
        kind, locators = "jsonl", _jsonl_ranges(path, shard_size)
    elif path.suffix in (".parquet", ".spacy"):
        rows = _parquet_rows(path) if path.suffix == ".parquet" else _docbin_rows(path)
        kind, locators = path.suffix[1:], [(i, min(i + shard_size, rows)) for i in range(0, rows, shard_size)]
    else:
        raise ValueError(f"cannot read {path}: pass a folder of .txt files, or a .jsonl, .spacy or .parquet file")
    return InputPlan(str(path), kind, locators, id_field, text_field, max_chars)


def read_shard(plan: InputPlan, index: int) -> List[InputDocument]:
    """The documents of shard ``index``, each checked (see the module docstring)."""
    readers = {"txt": _txt_shard, "jsonl": _jsonl_shard, "parquet": _parquet_shard, "spacy": _docbin_shard}
    return [_checked(document, plan.max_chars) for document in readers[plan.kind](plan, plan.locators[index])]


def _checked(document: InputDocument, max_chars: int) -> InputDocument:
    if document.problem is None:
        if not document.text or not document.text.strip():
            document.problem = "empty document"
        elif len(document.text) > max_chars:
            document.problem = f"{len(document.text)} characters, more than --max-chars {max_chars}"
    if document.problem is not None:
        document.text = None
    return document


def _txt_shard(plan: InputPlan, files: List[str]) -> Iterator[InputDocument]:
    for name in files:
        doc_id = name[:-len(".txt")]
        try:
            yield InputDocument(doc_id, (Path(plan.path) / name).read_bytes().decode("utf-8"))
        except UnicodeDecodeError as err:
            yield InputDocument(doc_id, None, f"not UTF-8 ({err.reason} at byte {err.start})")


def _jsonl_ranges(path: Path, shard_size: int) -> List[Any]:
    """(first byte, end byte, first line number, documents) of each shard; blank lines are no documents."""
    ranges, start, first_line, count, offset = [], 0, 1, 0, 0
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if raw.strip():
                if count == 0:
                    start, first_line = offset, number
                count += 1
            offset += len(raw)
            if count == shard_size:
                ranges.append((start, offset, first_line, count))
                count = 0
    if count:
        ranges.append((start, offset, first_line, count))
    return ranges


def _jsonl_shard(plan: InputPlan, locator: Any) -> Iterator[InputDocument]:
    start, end, first_line, _ = locator
    with open(plan.path, "rb") as stream:
        stream.seek(start)
        data = stream.read(end - start)
    for number, raw in enumerate(data.splitlines(), start=first_line):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            yield InputDocument(f"line {number}", None, f"not a JSON object in UTF-8 ({err})")
            continue
        doc_id = str(record.get(plan.id_field, f"line {number}")) if isinstance(record, dict) else f"line {number}"
        text = record.get(plan.text_field) if isinstance(record, dict) else None
        if not isinstance(text, str):
            yield InputDocument(doc_id, None, f"no string field {plan.text_field!r}")
        else:
            yield InputDocument(doc_id, text)


def _file_version(path: str) -> Tuple[int, int]:
    """The file's modification time and size: part of the read-once caches' key, so a changed file is re-read."""
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=1)
def _docbin_documents(path: str, version: Tuple[int, int]) -> Tuple[Tuple[str, str], ...]:
    """(id, text) of every Doc of a ``.spacy`` file, read once per process (each shard is a slice of it)."""
    from .docs import DOC_ID_KEY, read_docbin

    return tuple((str(doc.user_data.get(DOC_ID_KEY) or f"doc{index:05d}"), doc.text)
                 for index, doc in enumerate(read_docbin(path)))


def _docbin_rows(path: Path) -> int:
    return len(_docbin_documents(str(path), _file_version(str(path))))


def _docbin_shard(plan: InputPlan, locator: Any) -> Iterator[InputDocument]:
    start, end = locator
    for doc_id, text in _docbin_documents(plan.path, _file_version(plan.path))[start:end]:
        yield InputDocument(doc_id, text)


def _parquet_rows(path: Path) -> int:
    return _pyarrow_parquet().ParquetFile(path).metadata.num_rows


@lru_cache(maxsize=1)
def _parquet_columns(path: str, version: Tuple[int, int], id_field: str, text_field: str) -> Tuple[list, list]:
    """The id and text columns of a Parquet file, read once per process (each shard is a slice of them)."""
    table = _pyarrow_parquet().read_table(path)
    missing = [name for name in (id_field, text_field) if name not in table.column_names]
    if missing:
        raise ValueError(f"{path} has no column {missing[0]!r} (columns: {', '.join(table.column_names)}); "
                         "name the columns with --id-field/--text-field")
    return table.column(id_field).to_pylist(), table.column(text_field).to_pylist()


def _parquet_shard(plan: InputPlan, locator: Any) -> Iterator[InputDocument]:
    start, end = locator
    ids, texts = _parquet_columns(plan.path, _file_version(plan.path), plan.id_field, plan.text_field)
    for doc_id, text in zip(ids[start:end], texts[start:end]):
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
