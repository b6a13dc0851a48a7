"""Writing annotated shards atomically, for the ``annotate`` command (reading its input: :mod:`.inputs`).

Outputs, one shard (a fixed run of input documents) at a time, each made atomic by writing a temporary file
or folder and renaming it: ``brat`` (a folder of ``.txt``/``.ann`` pairs), ``jsonl`` (one object per document:
id and entities with offsets, label, text and score), ``parquet`` (one row per entity), ``spacy`` (DocBin) and
``deid`` (a folder of de-identified ``.txt`` and mapping ``.json`` pairs, :mod:`spacy_clinical_flair.deid`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import srsly

from ..corpus.safe_files import write_atomic
from .inputs import pyarrow_parquet

#: Output formats and the name of shard ``i`` in each.
SHARD_NAMES = {"brat": "shard-{:05d}", "jsonl": "shard-{:05d}.jsonl", "parquet": "shard-{:05d}.parquet",
               "spacy": "shard-{:05d}.spacy", "deid": "shard-{:05d}"}


@dataclass
class AnnotatedDocument:
    """A document's predictions: entities as ``(start_char, end_char, label, score)``; ``doc_bytes`` holds
    the whole Doc (a one-Doc DocBin) when the output format is ``spacy``; ``deid`` the pipeline's own
    de-identification (``doc._.deid``) where it has a ``clinical_flair_deidentify`` component; ``recall`` another
    model's entities that a de-identification without that component adds
    (:func:`~spacy_clinical_flair.deid.component.recall_entities`)."""

    id: str
    text: str
    entities: List[List[Any]]
    doc_bytes: Optional[bytes] = None
    deid: Optional[Any] = None
    patient: Optional[str] = None
    recall: List[List[Any]] = field(default_factory=list)


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


def shard_path(output: Path, output_format: str, index: int) -> Path:
    return Path(output) / SHARD_NAMES[output_format].format(index)


def stats_path(output: Path, index: int) -> Path:
    return Path(output) / f"shard-{index:05d}.stats.json"


def write_shard(result: ShardResult, output: Path, output_format: str) -> Path:
    """Write one shard atomically: its data under a temporary name renamed into place, then its stats with
    the data's digest. A shard is done (:func:`shard_done`) only when both exist and the digest matches, so
    a crash or a truncated file at any point leaves a shard that a resumed run writes again."""
    final = shard_path(output, output_format, result.index)
    writers = {"brat": _write_brat, "jsonl": _write_jsonl, "parquet": _write_parquet, "spacy": _write_spacy,
               "deid": _write_deid}
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


def entity_records(document: AnnotatedDocument) -> List[Dict[str, Any]]:
    return [{"start": start, "end": end, "label": label, "text": document.text[start:end], "score": score}
            for start, end, label, score in document.entities]


def _write_jsonl(result: ShardResult, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for document in result.documents:
            out.write(json.dumps({"id": document.id, "entities": entity_records(document)}, ensure_ascii=False) + "\n")


def _write_deid(result: ShardResult, folder: Path) -> None:
    """One de-identified ``.txt`` and its mapping ``.json`` per document, named as in :func:`_write_brat`."""
    from ..corpus.safe_files import write_new_file

    def write(document: AnnotatedDocument, name: str) -> None:
        deid = document.deid if document.deid is not None else default_deidentify(document)
        report = {"id": document.id, **deid.report()}
        write_new_file(folder / f"{name}.txt", deid.text.encode("utf-8"), root=folder)
        write_new_file(folder / f"{name}.json", json.dumps(report, ensure_ascii=False, indent=1).encode("utf-8"),
                       root=folder)

    _write_named_files(result, folder, write)


def default_deidentify(document: AnnotatedDocument):
    """The document de-identified with the default settings (surrogates) and the key in the environment
    (:data:`~spacy_clinical_flair.deid.keys.DEFAULT_KEY_ENV`; a random one per process when unset), its
    scope its patient or else its text, as the component's is."""
    from ..deid.deidentify import Deidentifier, scope_of
    from ..deid.keys import load_key

    key = load_key()
    cached = key.secret if key is not None else None
    if cached not in _DEFAULT_DEIDENTIFIERS:
        _DEFAULT_DEIDENTIFIERS[cached] = Deidentifier(key=key)
    entities = [(start, end, label) for start, end, label, _ in document.entities]
    more = [(start, end, label) for start, end, label in document.recall]
    return _DEFAULT_DEIDENTIFIERS[cached].deidentify(document.text, entities, scope_of(document.text, document.patient),
                                                     more)


#: Deidentifiers by key (``None``: the random key of this process), made on first use
_DEFAULT_DEIDENTIFIERS: Dict[Optional[bytes], Any] = {}


def _write_brat(result: ShardResult, folder: Path) -> None:
    """One ``.txt``/``.ann`` pair per document (:func:`_write_named_files`)."""
    from ..corpus.brat import write_brat_document

    def write(document: AnnotatedDocument, name: str) -> None:
        entities = [(f"T{number}", label, [(start, end)])
                    for number, (start, end, label, _) in enumerate(document.entities, start=1)]
        write_brat_document(folder, name, document.text, entities)

    _write_named_files(result, folder, write)


def _write_named_files(result: ShardResult, folder: Path,
                       write: Callable[[AnnotatedDocument, str], None]) -> None:
    """``write(document, name)`` for each document of the shard into the new ``folder``, each named by
    :class:`~.names.UniqueNames` from its id (renames go into ``result.renamed``). The writer writes through
    :func:`~.safe_files.write_new_file` (never through a symlink, never over a file, folders of an id made
    inside ``folder``); a document that cannot be written moves to ``result.skipped``."""
    from ..corpus.names import UniqueNames

    folder.mkdir(parents=True)
    names, written = UniqueNames(), []
    for position, document in enumerate(result.documents):
        name, why = names.name(document.id, f"doc-{result.index:05d}-{position:05d}")
        if why:
            result.renamed.append({"id": document.id, "name": name, "problem": why})
        try:
            write(document, name)
            written.append(document)
        except OSError as err:
            result.skipped.append({"id": document.id, "problem": f"could not be written as {name!r}: {err}"})
    result.documents = written


def _write_parquet(result: ShardResult, path: Path) -> None:
    import pyarrow

    rows = [{"id": document.id, **record} for document in result.documents for record in entity_records(document)]
    schema = pyarrow.schema([("id", pyarrow.string()), ("start", pyarrow.int64()), ("end", pyarrow.int64()),
                             ("label", pyarrow.string()), ("text", pyarrow.string()), ("score", pyarrow.float64())])
    pyarrow_parquet().write_table(pyarrow.Table.from_pylist(rows, schema=schema), path)


def _write_spacy(result: ShardResult, path: Path) -> None:
    from spacy.tokens import DocBin

    merged = DocBin(store_user_data=True)
    for document in result.documents:
        if document.doc_bytes is None:
            raise ValueError(f"document {document.id!r} was annotated without its Doc; the spacy format needs it")
        merged.merge(DocBin(store_user_data=True).from_bytes(document.doc_bytes))
    merged.to_disk(path)
