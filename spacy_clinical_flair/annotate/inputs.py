"""Reading documents to annotate, for the ``annotate`` command (writing them: :mod:`.shards`).

Inputs: a folder of ``.txt`` files (recursive; ``.ann`` files beside them are ignored), a JSONL file of
``{"id": ..., "text": ...}`` objects (field names configurable), a ``.spacy`` file, or a Parquet file with id
and text columns. :func:`plan_input` cuts the input into shards of a fixed run of documents without reading
their text; :func:`read_shard` reads one shard (in this process or on a Ray worker). Every document comes
out as an :class:`InputDocument`; one that cannot be annotated (undecodable bytes, empty, longer than
``max_chars``, no text field) carries the reason instead of text, so it is reported and skipped, never fatal.
:func:`input_identity` is what a resumed job compares to know that its input did not change.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple


@dataclass
class InputDocument:
    """One input document: its id and text, or the reason it cannot be annotated; ``patient`` is its patient
    id where the plan names a patient field."""

    id: str
    text: Optional[str]
    problem: Optional[str] = None
    patient: Optional[str] = None


@dataclass
class InputPlan:
    """Where each shard's documents are in the input, found without reading any text: the driver of a job
    plans, and whoever annotates shard ``i`` (this process or a Ray worker) reads that shard: only its files
    (``txt``) or byte range (``jsonl``); a ``parquet`` or ``spacy`` input is read whole once per process and
    each shard is a slice of it.

    ``kind`` is ``txt`` (``locators``: each shard's file paths relative to ``path``), ``jsonl`` (each shard's
    byte range and first line number), ``parquet`` or ``spacy`` (each shard's first and end row).
    """

    path: str
    kind: str
    locators: List[Any]
    id_field: str = "id"
    text_field: str = "text"
    max_chars: int = 1_000_000
    patient_field: Optional[str] = None

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
               max_chars: int = 1_000_000, patient_field: Optional[str] = None) -> InputPlan:
    """Cut the input into shards of ``shard_size`` documents (see :class:`InputPlan`). A missing or
    unsupported input is an error that says what to pass; so is a ``patient_field`` for an input without
    fields (a folder of ``.txt`` files or a ``.spacy`` file)."""
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
    if patient_field and kind not in ("jsonl", "parquet"):
        raise ValueError(f"--patient-field reads a JSONL field or a Parquet column; {path} has no fields (the "
                         "deidentify command takes --patient-pattern for file names)")
    return InputPlan(str(path), kind, locators, id_field, text_field, max_chars, patient_field)


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
            patient = record.get(plan.patient_field) if plan.patient_field else None
            yield InputDocument(doc_id, text, patient=None if patient in (None, "") else str(patient))


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
    return pyarrow_parquet().ParquetFile(path).metadata.num_rows


@lru_cache(maxsize=1)
def _parquet_columns(path: str, version: Tuple[int, int], id_field: str, text_field: str,
                     patient_field: Optional[str] = None) -> Tuple[list, list, list]:
    """The id, text and patient columns of a Parquet file (no patient field: ``None`` each), read once per
    process (each shard is a slice of them)."""
    table = pyarrow_parquet().read_table(path)
    names = (id_field, text_field) + ((patient_field,) if patient_field else ())
    missing = [name for name in names if name not in table.column_names]
    if missing:
        raise ValueError(f"{path} has no column {missing[0]!r} (columns: {', '.join(table.column_names)}); "
                         "name the columns with --id-field/--text-field/--patient-field")
    patients = table.column(patient_field).to_pylist() if patient_field else [None] * table.num_rows
    return table.column(id_field).to_pylist(), table.column(text_field).to_pylist(), patients


def _parquet_shard(plan: InputPlan, locator: Any) -> Iterator[InputDocument]:
    start, end = locator
    ids, texts, patients = _parquet_columns(plan.path, _file_version(plan.path), plan.id_field, plan.text_field,
                                            plan.patient_field)
    for doc_id, text, patient in zip(ids[start:end], texts[start:end], patients[start:end]):
        yield InputDocument(str(doc_id), text, patient=None if patient in (None, "") else str(patient)) \
            if isinstance(text, str) else InputDocument(str(doc_id), None, "the text is not a string")


def pyarrow_parquet():
    """``pyarrow.parquet``, or an ImportError that says what to install."""
    try:
        import pyarrow.parquet as parquet
    except ImportError as err:
        raise ImportError("Parquet needs pyarrow: pip install pyarrow (or pip install -e '.[annotate]')") from err
    return parquet


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
    fields = [plan.kind, plan.locators, plan.id_field, plan.text_field, plan.max_chars]
    plan_text = json.dumps(fields + ([plan.patient_field] if plan.patient_field else []))  # earlier jobs' unchanged
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
