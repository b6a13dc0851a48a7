"""Annotating many documents with a pipeline: shards written atomically, resumable, bad documents skipped.

The input is cut into shards of ``shard_size`` consecutive documents
(:func:`spacy_clinical_flair.annotate.inputs.plan_input`, the same for every engine). Each shard is read,
annotated and written atomically (:func:`~spacy_clinical_flair.annotate.shards.write_shard`); a re-run of the same
job skips the shards already written, so a crash or Ctrl-C loses at most the shards in flight. The ``local``
engine annotates the shards one after the other in this process (``nlp.pipe``, ``n_process`` workers); the
``ray`` engine (:mod:`spacy_clinical_flair.annotate.ray_engine`) hands the pending shards to a pool of Ray actors,
each holding one loaded pipeline and writing the shards it annotates. ``OUTPUT/annotate.json`` records the job
(input, format, shard size, ...) so that a resumed run cannot mix two jobs' shards, and
``OUTPUT/summary.json`` the totals: documents, entities per label, skipped documents with their reasons.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import srsly

from ..corpus.safe_files import UnsafeOutput, remove_path, write_atomic
from ..pipeline.component import SCORE_EXTENSION
from .inputs import InputDocument, input_identity, plan_input, read_shard
from .shards import SHARD_NAMES, AnnotatedDocument, ShardResult, read_stats, shard_done, write_shard

MANIFEST = "annotate.json"
SUMMARY = "summary.json"
LOCK = ".annotate.lock"


class OutputInUse(RuntimeError):
    """Another annotate job holds the output folder's lock."""


@dataclass
class AnnotateSettings:
    """How to read, annotate and write; the first five fields define the job (see :data:`MANIFEST`)."""

    output_format: str = "jsonl"
    shard_size: int = 1000
    id_field: str = "id"
    text_field: str = "text"
    max_chars: int = 1_000_000
    batch_size: int = 64
    n_process: int = 1
    resume: bool = True
    progress: bool = True
    #: prediction precision set on the loaded pipeline ("fp32"/"bf16"); None keeps the pipeline's own
    precision: Optional[str] = None
    #: JSONL field / Parquet column of the patient id (``doc._.patient_id``: the scope of de-identification)
    patient_field: Optional[str] = None

    def job(self, pipeline: str, input_path: Path, identity: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """What defines the job: pipeline, input and its identity (:func:`inputs.input_identity`), settings."""
        return {"pipeline": str(pipeline), "input": str(Path(input_path).resolve()), "format": self.output_format,
                "shard_size": self.shard_size, "id_field": self.id_field, "text_field": self.text_field,
                "max_chars": self.max_chars, "input_identity": identity,
                **({"patient_field": self.patient_field} if self.patient_field else {})}


@dataclass
class AnnotateSummary:
    """Totals over every shard of the job (including shards written by an earlier, interrupted run)."""

    documents: int = 0
    entities: int = 0
    labels: Dict[str, int] = field(default_factory=dict)
    skipped: List[Dict[str, str]] = field(default_factory=list)
    renamed: List[Dict[str, str]] = field(default_factory=list)
    shards: int = 0
    shards_reused: int = 0
    seconds: float = 0.0

    def lines(self) -> List[str]:
        lines = [f"documents annotated {self.documents} | entities {self.entities} | skipped {len(self.skipped)} | "
                 f"shards {self.shards} ({self.shards_reused} from an earlier run) | {self.seconds:.0f} s"]
        lines += [f"  {label:<30} {count}" for label, count in sorted(self.labels.items(), key=lambda x: -x[1])]
        lines += [f"  skipped {item['id']}: {item['problem']}" for item in self.skipped]
        lines += [f"  renamed: {item['problem']}" for item in self.renamed]
        return lines


def apply_precision(nlp, settings: AnnotateSettings) -> None:
    """Set ``settings.precision`` on the pipeline's Flair parts (nothing when it is None)."""
    if settings.precision is not None:
        from ..pipeline.precision_switch import set_precision

        set_precision(nlp, settings.precision)


def annotate(nlp, pipeline_name: str, input_path: Path, output: Path,
             settings: Optional[AnnotateSettings] = None) -> AnnotateSummary:
    """Annotate every document of ``input_path`` with ``nlp`` into shards under ``output`` (local engine;
    ``settings`` default: ``AnnotateSettings()``)."""
    settings = settings or AnnotateSettings()
    started = time.perf_counter()
    with output_lock(Path(output)):
        plan, pending = start_job(pipeline_name, input_path, Path(output), settings)
        apply_precision(nlp, settings)
        with progress_bar(plan.documents(), settings.progress) as bar:
            for index in range(plan.shards):
                shard = read_shard(plan, index) if index in pending else None
                if shard is not None:
                    write_shard(annotate_shard(nlp, index, shard, settings), Path(output), settings.output_format)
                bar.update(len(shard) if shard is not None else plan.shard_documents(index))
        return finish(Path(output), plan.shards, plan.shards - len(pending), started)


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold ``output/.annotate.lock`` (an exclusive ``flock``) for the job: a second job on the same folder is
    refused with :class:`OutputInUse` instead of writing beside the first. The OS releases it if we die. The
    lock file is opened with ``O_NOFOLLOW`` (a symlink under its name is refused, nothing written through it)
    and the pid is written only once the lock is held."""
    output.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(output / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as err:
        if (output / LOCK).is_symlink():
            raise UnsafeOutput(err.errno, f"{output / LOCK} is a symlink; remove it (annotate never writes through "
                                          "a symlink)") from None
        raise
    with os.fdopen(descriptor, "r+", encoding="utf-8") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise UnsafeOutput(errno.EINVAL, f"{output / LOCK} is not a regular file; remove it")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise OutputInUse(f"{output} is in use by another annotate job ({holder}); wait for it to finish or "
                              "use another output folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_job(pipeline_name: str, input_path: Path, output: Path, settings: AnnotateSettings):
    """Check the settings, plan the input's shards, prepare ``output``; the plan and the shards still to do
    (those not complete: :func:`shards.shard_done`). Call it inside :func:`output_lock`."""
    if settings.output_format not in SHARD_NAMES:
        raise ValueError(f"unknown output format {settings.output_format!r}: use one of {', '.join(SHARD_NAMES)}")
    if settings.shard_size < 1:
        raise ValueError(f"shard_size must be at least 1, got {settings.shard_size}")
    plan = plan_input(Path(input_path), settings.shard_size, settings.id_field, settings.text_field, settings.max_chars,
                      settings.patient_field)
    prepare_output(output, settings.job(pipeline_name, input_path, input_identity(plan)), settings.resume)
    pending = {i for i in range(plan.shards) if not shard_done(output, settings.output_format, i)}
    return plan, pending


def prepare_output(output: Path, job: Dict[str, Any], resume: bool) -> None:
    """Create ``output`` and record the job. Resuming is refused, with what to do, when the folder holds
    another job's shards, shards of a changed input, or shards without a manifest."""
    manifest = output / MANIFEST
    for name in (MANIFEST, SUMMARY):
        if (output / name).is_symlink():
            raise UnsafeOutput(errno.ELOOP, f"{output / name} is a symlink; remove it (annotate neither reads nor "
                                            "writes through a symlink)")
    leftovers = [*output.glob("shard-*"), *output.glob(".tmp-*")] if output.is_dir() else []
    if resume and manifest.is_file():
        try:
            earlier = srsly.read_json(manifest)
        except (OSError, ValueError):
            earlier = {}
        differs = sorted(key for key in job if not isinstance(earlier, dict) or earlier.get(key) != job[key])
        if differs == ["input_identity"]:
            raise ValueError(f"the input changed since the shards in {output} were written (a file was added, "
                             "removed, renamed, swapped or changed): resuming would lose or repeat documents. Use --no-resume "
                             "to annotate it afresh there (the old shards are removed), or another output folder")
        if differs:
            raise ValueError(f"{output} holds shards of another annotate job (it differs in {', '.join(differs)}); "
                             "use another output folder, or --no-resume to start this one afresh there")
    elif resume and any(p.name.startswith("shard-") for p in leftovers):
        raise ValueError(f"{output} holds shards but no {MANIFEST}, so nothing says which job wrote them; use "
                         "--no-resume to remove them and start afresh, or another output folder")
    if not resume:
        for path in [*leftovers, output / SUMMARY]:
            remove_path(path)  # a symlink among them goes, not what it points to
    output.mkdir(parents=True, exist_ok=True)
    write_atomic(manifest, lambda tmp: srsly.write_json(tmp, job))


def annotate_shard(nlp, index: int, shard: Sequence[InputDocument], settings: AnnotateSettings) -> ShardResult:
    """Annotate one shard's documents; a document the pipeline fails on is skipped with the error.

    Works with any pipeline (spaCy's ``ner`` does not support ``nlp.set_error_handler``, so no error handler
    is set): :func:`pipe_isolated` runs the documents through ``nlp.pipe`` and, where a batch fails, runs that
    batch's documents one by one, so only the one at fault is skipped.
    """
    result = ShardResult(index, skipped=[{"id": d.id, "problem": d.problem} for d in shard if d.problem])
    good = [document for document in shard if document.problem is None]
    with_doc = settings.output_format == "spacy"
    outcomes = pipe_isolated(nlp, [d.text or "" for d in good], settings.batch_size, settings.n_process,
                             [d.patient for d in good])
    for document, outcome in zip(good, outcomes):
        if isinstance(outcome, Exception):
            result.skipped.append({"id": document.id,
                                   "problem": f"the pipeline failed: {type(outcome).__name__}: {outcome}"})
            continue
        try:
            result.documents.append(annotated_document(document.id, outcome, with_doc, document.patient))
        except Exception as err:  # e.g. a Doc that cannot be serialised: this document only
            result.skipped.append({"id": document.id, "problem": f"could not be stored: {type(err).__name__}: {err}"})
    return result


def pipe_isolated(nlp, texts: Sequence[str], batch_size: int = 64, n_process: int = 1,
                  patients: Optional[Sequence[Optional[str]]] = None) -> List[Any]:
    """``nlp.pipe`` over ``texts``: one Doc, or the Exception it raised, per text, in order.

    ``nlp.pipe`` yields its Docs in order, so when it raises, the batch at fault starts after the last Doc it
    yielded: those ``batch_size`` texts are run one by one (``nlp(text)``, each error kept for its own text),
    and ``nlp.pipe`` goes on with the rest. A text the stream left out without raising (a pipeline whose error
    handler drops a batch) is run alone too. Correct whatever batching the components do inside (a component
    batching wider only makes this repeat), and needs no ``nlp.set_error_handler``, which spaCy's ``ner`` lacks.
    ``patients``: each text's patient id, set as ``doc._.patient_id`` on a new Doc at every try, before the
    components run (``None``: plain texts).
    """
    def source(i: int) -> Any:
        if not patients or patients[i] is None:
            return texts[i]
        doc = nlp.make_doc(texts[i])
        doc._.set("patient_id", patients[i])
        return doc

    outcomes: Dict[int, Any] = {}
    pending = list(range(len(texts)))
    while pending:
        failed = False
        try:
            for doc, position in nlp.pipe(((source(i), i) for i in pending), as_tuples=True, batch_size=batch_size,
                                          n_process=n_process):
                outcomes[position] = doc
        except Exception:
            failed = True
        known = max((n + 1 for n, i in enumerate(pending) if i in outcomes), default=0)
        alone = [i for i in pending[:known] if i not in outcomes]
        if failed:
            alone += pending[known:known + max(1, batch_size)]
            pending = pending[known + max(1, batch_size):]
        else:
            alone += [i for i in pending[known:] if i not in outcomes]
            pending = []
        for i in alone:
            try:
                outcomes[i] = nlp(source(i))
            except Exception as err:
                outcomes[i] = err
    return [outcomes[i] for i in range(len(texts))]


def annotated_document(doc_id: str, doc, with_doc: bool, patient: Optional[str] = None) -> AnnotatedDocument:
    """A Doc's entities (offsets, label, the component's score where there is one), and the Doc if asked."""
    from spacy.tokens import DocBin, Span

    from ..corpus.docs import DOC_ID_KEY
    from ..deid.component import recall_entities

    scored = Span.has_extension(SCORE_EXTENSION)
    entities = [[ent.start_char, ent.end_char, ent.label_, getattr(ent._, SCORE_EXTENSION) if scored else None]
                for ent in doc.ents]
    deid = doc._.get("deid") if doc.has_extension("deid") else None
    doc_bytes = None
    if with_doc:
        doc.user_data[DOC_ID_KEY] = doc_id
        if deid is not None:  # a DocBin stores JSON-like user data: the de-identification as its report
            doc._.set("deid", {"text": deid.text, **deid.report()})
        doc_bytes = DocBin(store_user_data=True, docs=[doc]).to_bytes()
    recall = [list(entity) for entity in recall_entities(doc)]
    return AnnotatedDocument(doc_id, doc.text, entities, doc_bytes, deid, patient, recall)


def finish(output: Path, shards: int, reused: int, started: float) -> AnnotateSummary:
    """Add up every shard's stats and write ``summary.json``."""
    summary = AnnotateSummary(shards=shards, shards_reused=reused)
    for index in range(shards):
        stats = read_stats(output, index)
        if stats is None:
            raise RuntimeError(f"shard {index} of {output} has no readable stats; run the job again to redo it")
        summary.documents += stats["documents"]
        summary.entities += stats["entities"]
        summary.skipped.extend(stats["skipped"])
        summary.renamed.extend(stats.get("renamed", []))
        for label, count in stats["labels"].items():
            summary.labels[label] = summary.labels.get(label, 0) + count
    summary.seconds = time.perf_counter() - started
    write_atomic(output / SUMMARY, lambda tmp: srsly.write_json(tmp, asdict(summary)))
    return summary


def progress_bar(total: Optional[int], enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="annotating", unit="doc", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True)
