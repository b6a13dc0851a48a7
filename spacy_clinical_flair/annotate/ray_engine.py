"""The ``ray`` engine of ``annotate``: the same shards as the local engine, annotated by a pool of Ray actors.

Ray Data holds one row per pending shard; ``map_batches`` runs :class:`ShardAnnotator`, a callable class, in
an actor pool of ``workers`` actors (``num_gpus`` each when asked). Each actor loads the pipeline once, then
for each shard it is given reads that shard's documents from the input (every node must see the input and
output paths, e.g. a shared filesystem), annotates them and writes the shard atomically. A worker process
that dies is restarted by Ray and its shard retried; a shard is written whole or not at all, and a retried
shard overwrites with identical content, so no document is lost or duplicated. Install with
``pip install -e ".[ray]"``; the pipeline must be loadable on every node (a folder they all see, or the
pipeline's package installed there, or shipped with a ``runtime_env``).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, Optional

from .inputs import InputPlan, read_shard
from .job import (
    AnnotateSettings,
    AnnotateSummary,
    annotate_shard,
    apply_precision,
    finish,
    output_lock,
    progress_bar,
    start_job,
)
from .shards import write_shard


class ShardAnnotator:
    """A Ray Data callable class: one loaded pipeline per actor; annotates and writes whole shards."""

    def __init__(self, pipeline: str, plan: Dict[str, Any], output: str, settings: Dict[str, Any]) -> None:
        import spacy

        self.nlp = spacy.load(pipeline)
        self.plan = InputPlan(**plan)
        self.output = Path(output)
        self.settings = AnnotateSettings(**{**settings, "n_process": 1, "progress": False})
        apply_precision(self.nlp, self.settings)

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        shards, documents = [], []
        for index in batch["shard"]:
            index = int(index)
            shard = read_shard(self.plan, index)
            write_shard(annotate_shard(self.nlp, index, shard, self.settings), self.output,
                        self.settings.output_format)
            shards.append(index)
            documents.append(len(shard))
        return {"shard": shards, "documents": documents}


def annotate_with_ray(pipeline: str, input_path: Path, output: Path, settings: Optional[AnnotateSettings] = None,
                      workers: int = 2, gpus_per_worker: float = 0.0, address: Optional[str] = None,
                      task_retries: int = 3) -> AnnotateSummary:
    """Annotate like :func:`spacy_clinical_flair.annotate.job.annotate`, on Ray: a local Ray on this machine, or
    the cluster at ``address``. ``pipeline`` is what every actor passes to ``spacy.load``."""
    settings = settings or AnnotateSettings()
    try:
        import ray
    except ImportError as err:
        raise ImportError("the ray engine needs Ray Data: pip install 'ray[data]' (or pip install -e '.[ray]')") from err
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    started = time.perf_counter()
    output = Path(output).resolve()
    with output_lock(output):
        return _annotate_locked(ray, pipeline, Path(input_path).resolve(), output, settings, workers,
                                gpus_per_worker, address, task_retries, started)


def _annotate_locked(ray, pipeline: str, input_path: Path, output: Path, settings: AnnotateSettings, workers: int,
                     gpus_per_worker: float, address: Optional[str], task_retries: int,
                     started: float) -> AnnotateSummary:
    plan, pending = start_job(pipeline, input_path, output, settings)
    if Path(pipeline).exists():
        pipeline = str(Path(pipeline).resolve())
    if pending:
        if len(pending) < 2 * workers:
            warnings.warn(f"{len(pending)} shard(s) to annotate for {workers} workers: a worker with one shard more "
                          "than another sets the pace, and a worker with none idles; use a --shard-size that gives "
                          "several shards per worker", stacklevel=2)
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     num_cpus=None if address else max(workers, 1))
        context = ray.data.DataContext.get_current()
        context.actor_task_retry_on_errors = True  # an actor task that raised is tried again (task_retries)
        context.enable_progress_bars = False
        rows = ray.data.from_items([{"shard": index} for index in sorted(pending)])
        annotated = rows.map_batches(
            ShardAnnotator, batch_size=1, concurrency=workers, num_cpus=1,
            num_gpus=gpus_per_worker or None,
            fn_constructor_kwargs={"pipeline": pipeline, "plan": asdict(plan), "output": str(output),
                                   "settings": asdict(settings)},
            max_restarts=-1, max_task_retries=task_retries)
        with progress_bar(plan.documents(), settings.progress) as bar:
            bar.update(sum(plan.shard_documents(i) for i in range(plan.shards) if i not in pending))  # done before
            for row in annotated.iter_rows():
                bar.update(int(row["documents"]))
    return finish(output, plan.shards, plan.shards - len(pending), started)

