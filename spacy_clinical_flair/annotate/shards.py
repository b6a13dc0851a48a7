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

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import srsly

from ..corpus.safe_files import write_atomic

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
    renamed: List[Dict[str, str]] = field(default_factory=list)  # brat output: ids written under another name

    def stats(self) -> Dict[str, Any]:
        labels: Dict[str, int] = {}
        for document in self.documents:
            for entity in document.entities:
                labels[entity[2]] = labels.get(entity[2], 0) + 1
        return {"shard": self.index, "documents": len(self.documents), "entities": sum(labels.values()),
                "labels": labels, "skipped": self.skipped, "renamed": self.renamed}


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
    locators: List[Any]
    if path.is_dir():
        # every entry named *.txt, files or not: one that is not a readable file is reported, not dropped
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
        # a file name that is not UTF-8 arrives with surrogate escapes: its id shows them as U+FFFD
        doc_id = name[:-len(".txt")].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        not_a_file = _not_a_regular_file(Path(plan.path) / name)
        if not_a_file:
            yield InputDocument(doc_id, None, not_a_file)
            continue
        try:
            yield InputDocument(doc_id, (Path(plan.path) / name).read_bytes().decode("utf-8"))
        except UnicodeDecodeError as err:
            yield InputDocument(doc_id, None, f"not UTF-8 ({err.reason} at byte {err.start})")
        except OSError as err:
            yield InputDocument(doc_id, None, f"cannot be read ({err.strerror or err})")


def _not_a_regular_file(path: Path) -> Optional[str]:
    """Why ``path`` cannot be read as a note (a folder, a FIFO, a symlink to nothing), or ``None``."""
    try:
        mode = path.stat().st_mode
    except OSError as err:
        return "a symlink to nothing" if path.is_symlink() else f"cannot be read ({err.strerror or err})"
    if stat.S_ISDIR(mode):
        return "a folder named .txt, not a file"
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device)"
    return None


def _jsonl_ranges(path: Path, shard_size: int) -> List[Any]:
    """(first byte, end byte, first line number, documents) of each shard; blank lines are no documents.
    Lines end at ``\n`` only (a ``\r`` inside a line is JSON whitespace), as :func:`_jsonl_shard` reads them."""
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
    for number, raw in enumerate(data.split(b"\n"), start=first_line):  # \n only, as _jsonl_ranges counts
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
    from ..corpus.docs import read_docbin

    return tuple((_docbin_id(doc.user_data, index), doc.text) for index, doc in enumerate(read_docbin(path)))


def _docbin_id(user_data: Any, index: int) -> str:
    """The Doc's ``doc_id`` when its user_data is a dict that has one, else ``doc00042`` by position."""
    from ..corpus.docs import DOC_ID_KEY

    doc_id = user_data.get(DOC_ID_KEY) if isinstance(user_data, dict) else None
    return str(doc_id) if doc_id not in (None, "") else f"doc{index:05d}"


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
    """Write one shard atomically: its data under a temporary name renamed into place, then its stats with
    the data's digest. A shard is done (:func:`shard_done`) only when both exist and the digest matches, so
    a crash or a truncated file at any point leaves a shard that a resumed run writes again."""
    final = shard_path(output, output_format, result.index)
    writers = {"brat": _write_brat, "jsonl": _write_jsonl, "parquet": _write_parquet, "spacy": _write_spacy}
    write_atomic(final, lambda tmp: writers[output_format](result, tmp))
    stats = {**result.stats(), "digest": shard_digest(final)}
    write_atomic(stats_path(output, result.index), lambda tmp: srsly.write_json(tmp, stats))
    return final


def shard_digest(path: Path) -> str:
    """SHA-256 of a shard: a file's bytes, or a folder's relative file names and bytes in sorted order."""
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(file.relative_to(path).as_posix().encode("utf-8", "surrogateescape") + b"\0")
            digest.update(file.read_bytes() + b"\0")
    else:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def read_stats(output: Path, index: int) -> Optional[Dict[str, Any]]:
    """Shard ``index``'s stats, or ``None`` when they are missing or unreadable."""
    try:
        stats = srsly.read_json(stats_path(output, index))
    except (OSError, ValueError):
        return None
    return stats if isinstance(stats, dict) else None


def shard_done(output: Path, output_format: str, index: int) -> bool:
    """Whether shard ``index`` is complete: data and stats exist and the data's digest is the recorded one."""
    stats, data = read_stats(output, index), shard_path(output, output_format, index)
    return stats is not None and data.exists() and stats.get("digest") == shard_digest(data)


def input_identity(plan: InputPlan) -> Dict[str, Any]:
    """What identifies the input of a job: each input file's name, size, modification time (ns) and inode
    (a rename or swap of two files changes it), a content hash for a single input file of at most
    :data:`HASHED_INPUT_BYTES`, and a hash of the shard plan. Any change to any file is noticed on resume."""
    root = Path(plan.path)
    names = [name for shard in plan.locators for name in shard] if plan.kind == "txt" else [""]
    files: List[List[Any]] = []
    for name in names:
        try:
            info = os.stat(root / name if name else root)
            files.append([name, info.st_size, info.st_mtime_ns, info.st_ino])
        except OSError:
            files.append([name, None, None, None])
    plan_text = json.dumps([plan.kind, plan.locators, plan.id_field, plan.text_field, plan.max_chars])
    identity = {"files": len(files), "files_sha256": _sha256(json.dumps(files)),
                "plan_sha256": _sha256(plan_text)}
    size = files[0][1]
    if plan.kind != "txt" and isinstance(size, int) and size <= HASHED_INPUT_BYTES:
        identity["content_sha256"] = hashlib.sha256(root.read_bytes()).hexdigest()
    return identity


#: A single input file (JSONL, Parquet, .spacy) up to this size is also identified by its content's hash.
HASHED_INPUT_BYTES = 256 * 2 ** 20


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def entity_records(document: AnnotatedDocument) -> List[Dict[str, Any]]:
    return [{"start": start, "end": end, "label": label, "text": document.text[start:end], "score": score}
            for start, end, label, score in document.entities]


def _write_jsonl(result: ShardResult, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for document in result.documents:
            out.write(json.dumps({"id": document.id, "entities": entity_records(document)}, ensure_ascii=False) + "\n")


def _write_brat(result: ShardResult, folder: Path) -> None:
    """One ``.txt``/``.ann`` pair per document, named by :class:`~.names.UniqueNames` (renames go into
    ``result.renamed``; a document that cannot be written moves to ``result.skipped``)."""
    from ..corpus.brat import write_brat_document
    from ..corpus.names import UniqueNames

    folder.mkdir(parents=True)
    names, written = UniqueNames(), []
    for position, document in enumerate(result.documents):
        name, why = names.name(document.id, f"doc-{result.index:05d}-{position:05d}")
        if why:
            result.renamed.append({"id": document.id, "name": name, "problem": why})
        entities = [(f"T{number}", label, [(start, end)])
                    for number, (start, end, label, _) in enumerate(document.entities, start=1)]
        try:
            write_brat_document(folder, name, document.text, entities)
            written.append(document)
        except OSError as err:
            result.skipped.append({"id": document.id, "problem": f"could not be written as {name!r}: {err}"})
    result.documents = written


def _write_parquet(result: ShardResult, path: Path) -> None:
    import pyarrow

    rows = [{"id": document.id, **record} for document in result.documents for record in entity_records(document)]
    schema = pyarrow.schema([("id", pyarrow.string()), ("start", pyarrow.int64()), ("end", pyarrow.int64()),
                             ("label", pyarrow.string()), ("text", pyarrow.string()), ("score", pyarrow.float64())])
    _pyarrow_parquet().write_table(pyarrow.Table.from_pylist(rows, schema=schema), path)


def _write_spacy(result: ShardResult, path: Path) -> None:
    from spacy.tokens import DocBin

    merged = DocBin(store_user_data=True)
    for document in result.documents:
        if document.doc_bytes is None:
            raise ValueError(f"document {document.id!r} was annotated without its Doc; the spacy format needs it")
        merged.merge(DocBin(store_user_data=True).from_bytes(document.doc_bytes))
    merged.to_disk(path)
