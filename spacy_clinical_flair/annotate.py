"""Annotating many documents with a pipeline: shards written atomically, resumable, bad documents skipped.

The input documents (:func:`spacy_clinical_flair.annotate_io.read_inputs`) are cut into shards of
``shard_size`` consecutive documents. Each shard is annotated and written atomically
(:func:`~spacy_clinical_flair.annotate_io.write_shard`); a re-run of the same job skips the shards already
written, so a crash or Ctrl-C loses at most the shard in flight. ``OUTPUT/annotate.json`` records the job
(input, format, shard size, ...) so that a resumed run cannot mix two jobs' shards, and
``OUTPUT/summary.json`` the totals: documents, entities per label, skipped documents with their reasons.
"""
from __future__ import annotations

import itertools
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

from .annotate_io import (SHARD_NAMES, AnnotatedDocument, InputDocument, ShardResult, read_inputs, shard_path,
                          stats_path, write_shard)

MANIFEST = "annotate.json"
SUMMARY = "summary.json"


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

    def job(self, pipeline: str, input_path: Path) -> Dict[str, Any]:
        return {"pipeline": str(pipeline), "input": str(Path(input_path).resolve()), "format": self.output_format,
                "shard_size": self.shard_size, "id_field": self.id_field, "text_field": self.text_field,
                "max_chars": self.max_chars}


@dataclass
class AnnotateSummary:
    """Totals over every shard of the job (including shards written by an earlier, interrupted run)."""

    documents: int = 0
    entities: int = 0
    labels: Dict[str, int] = field(default_factory=dict)
    skipped: List[Dict[str, str]] = field(default_factory=list)
    shards: int = 0
    shards_reused: int = 0
    seconds: float = 0.0

    def lines(self) -> List[str]:
        lines = [f"documents annotated {self.documents} | entities {self.entities} | skipped {len(self.skipped)} | "
                 f"shards {self.shards} ({self.shards_reused} from an earlier run) | {self.seconds:.0f} s"]
        lines += [f"  {label:<30} {count}" for label, count in sorted(self.labels.items(), key=lambda x: -x[1])]
        lines += [f"  skipped {item['id']}: {item['problem']}" for item in self.skipped]
        return lines


def annotate(nlp, pipeline_name: str, input_path: Path, output: Path,
             settings: AnnotateSettings = AnnotateSettings()) -> AnnotateSummary:
    """Annotate every document of ``input_path`` with ``nlp`` into shards under ``output`` (local engine)."""
    started = time.perf_counter()
    if settings.output_format not in SHARD_NAMES:
        raise ValueError(f"unknown output format {settings.output_format!r}: use one of {', '.join(SHARD_NAMES)}")
    if settings.shard_size < 1:
        raise ValueError(f"shard_size must be at least 1, got {settings.shard_size}")
    output = Path(output)
    documents = read_inputs(input_path, settings.id_field, settings.text_field, settings.max_chars)
    prepare_output(output, settings.job(pipeline_name, input_path), settings.resume)
    total = count_documents(Path(input_path))
    summary = AnnotateSummary()
    with progress_bar(total, settings.progress) as bar:
        for index, shard in enumerate(shards(documents, settings.shard_size)):
            summary.shards += 1
            if shard_path(output, settings.output_format, index).exists():
                summary.shards_reused += 1
            else:
                result = annotate_shard(nlp, index, shard, settings)
                write_shard(result, output, settings.output_format)
            bar.update(len(shard))
    return finish(output, summary, started)


def prepare_output(output: Path, job: Dict[str, Any], resume: bool) -> None:
    """Create ``output`` and record the job; refuse to resume into a folder holding another job's shards."""
    manifest = output / MANIFEST
    if manifest.is_file() and resume:
        earlier = json.loads(manifest.read_text(encoding="utf-8"))
        differs = sorted(key for key in job if earlier.get(key) != job[key])
        if differs:
            raise ValueError(f"{output} holds shards of another annotate job (it differs in {', '.join(differs)}); "
                             "use another output folder, or --no-resume to start this one afresh there")
    elif not resume and output.exists():
        for path in [*output.glob("shard-*"), *output.glob(".tmp-*"), output / SUMMARY]:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    output.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(job, indent=2), encoding="utf-8")


def shards(documents: Iterable[InputDocument], size: int) -> Iterator[List[InputDocument]]:
    """Consecutive runs of ``size`` documents (the last may be shorter)."""
    iterator = iter(documents)
    while True:
        shard = list(itertools.islice(iterator, size))
        if not shard:
            return
        yield shard


def annotate_shard(nlp, index: int, shard: Sequence[InputDocument], settings: AnnotateSettings) -> ShardResult:
    """Annotate one shard's documents; a document the pipeline fails on is skipped with the error."""
    result = ShardResult(index, skipped=[{"id": d.id, "problem": d.problem} for d in shard if d.problem])
    good = [document for document in shard if document.problem is None]
    with_doc = settings.output_format == "spacy"
    try:
        docs = list(nlp.pipe((d.text for d in good), batch_size=settings.batch_size, n_process=settings.n_process))
    except Exception:  # find the document(s) at fault one by one; the others are annotated as usual
        docs = []
        for document in good:
            try:
                docs.append(nlp(document.text))
            except Exception as err:
                docs.append(None)
                result.skipped.append({"id": document.id, "problem": f"the pipeline failed: {type(err).__name__}: {err}"})
    for document, doc in zip(good, docs):
        if doc is not None:
            result.documents.append(annotated_document(document.id, doc, with_doc))
    return result


def annotated_document(doc_id: str, doc, with_doc: bool) -> AnnotatedDocument:
    """A Doc's entities (offsets, label, the component's score where there is one), and the Doc if asked."""
    from spacy.tokens import DocBin, Span

    from .docs import DOC_ID_KEY

    scored = Span.has_extension("clinical_flair_score")
    entities = [[ent.start_char, ent.end_char, ent.label_, ent._.clinical_flair_score if scored else None]
                for ent in doc.ents]
    doc_bytes = None
    if with_doc:
        doc.user_data[DOC_ID_KEY] = doc_id
        doc_bytes = DocBin(store_user_data=True, docs=[doc]).to_bytes()
    return AnnotatedDocument(doc_id, doc.text, entities, doc_bytes)


def finish(output: Path, summary: AnnotateSummary, started: float) -> AnnotateSummary:
    """Add up every shard's stats into ``summary`` and write ``summary.json``."""
    for index in range(summary.shards):
        stats = json.loads(stats_path(output, index).read_text(encoding="utf-8"))
        summary.documents += stats["documents"]
        summary.entities += stats["entities"]
        summary.skipped.extend(stats["skipped"])
        for label, count in stats["labels"].items():
            summary.labels[label] = summary.labels.get(label, 0) + count
    summary.seconds = time.perf_counter() - started
    (output / SUMMARY).write_text(json.dumps(asdict(summary), indent=2, ensure_ascii=False), encoding="utf-8")
    return summary


def count_documents(path: Path) -> Optional[int]:
    """How many documents the input holds, where that is cheap to know (for the progress bar's ETA)."""
    if path.is_dir():
        return sum(1 for _ in path.rglob("*.txt"))
    if path.suffix == ".jsonl":
        with path.open("rb") as lines:
            return sum(1 for line in lines if line.strip())
    return None


def progress_bar(total: Optional[int], enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="annotating", unit="doc", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True)
