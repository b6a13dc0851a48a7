"""The annotate command: many documents through a pipeline, resumable, locally or on Ray."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app
from .common import Engine, OutputFormat, PrecisionChoice, fail, load_pipeline


@app.command("annotate")
def annotate_command(
    pipeline: str = typer.Argument(..., help="A pipeline folder or installed package name (spacy.load)."),
    input_path: Path = typer.Argument(..., help="A folder of .txt files (recursive; .ann ignored), a .jsonl file of "
                                      "{id, text} objects, a .spacy file, or a .parquet file with id/text columns."),
    output: Path = typer.Argument(..., help="Folder for the shards, annotate.json (the job) and summary.json."),
    output_format: OutputFormat = typer.Option(
        OutputFormat.jsonl, "--format", help="brat: .txt/.ann pairs per document; jsonl: id + entities (offsets, "
        "label, text, score) per document; parquet: one row per entity; spacy: DocBin; deid: de-identified "
        ".txt + mapping .json per document (the pipeline's clinical_flair_deidentify component if it has one, "
        "else surrogates with the key in CLINICAL_FLAIR_DEID_KEY)."),
    shard_size: int = typer.Option(1000, min=1, help="Documents per shard; each shard is written atomically."),
    batch_size: int = typer.Option(64, min=1, help="Documents per nlp.pipe batch."),
    n_process: int = typer.Option(1, min=1, help="CPU worker processes for nlp.pipe."),
    max_chars: int = typer.Option(1_000_000, min=1, help="Longer documents are reported and skipped."),
    id_field: str = typer.Option("id", help="JSONL field / Parquet column of the document id."),
    text_field: str = typer.Option("text", help="JSONL field / Parquet column of the text."),
    patient_field: Optional[str] = typer.Option(None, help="JSONL field / Parquet column of the patient id: set as "
                                                "doc._.patient_id, so that --format deid gives the notes of one "
                                                "patient the same surrogates and date shift."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Keep the shards an earlier run of the same job "
                                "wrote (default), or start afresh."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for the CPU (local engine)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    engine: Engine = typer.Option(Engine.local, help="local: this process (nlp.pipe); ray: a pool of Ray actors, "
                                  "one loaded pipeline each (pip install -e '.[ray]')."),
    workers: int = typer.Option(2, min=1, help="ray: number of actors."),
    gpus_per_worker: float = typer.Option(0.0, min=0.0, help="ray: GPUs per actor (e.g. 0.5: two actors per GPU)."),
    address: Optional[str] = typer.Option(None, help="ray: the cluster to join (e.g. 'auto' or ray://host:10001); "
                                          "default: start a local Ray on this machine."),
    precision: Optional[PrecisionChoice] = typer.Option(
        None, help="Character-LM precision for prediction: fp32, or bf16 where the hardware has bfloat16 (a warning "
        "and fp32 elsewhere). Default: the pipeline's own setting."),
) -> None:
    """Annotate many documents with a pipeline, in resumable shards; bad documents are reported and skipped."""
    from ..annotate.job import AnnotateSettings, annotate

    settings = AnnotateSettings(output_format.value, shard_size, id_field, text_field, max_chars, batch_size,
                                n_process, resume, progress, precision.value if precision else None, patient_field)
    try:
        if engine == Engine.ray:
            from ..annotate.ray_engine import annotate_with_ray

            summary = annotate_with_ray(pipeline, input_path, output, settings, workers, gpus_per_worker, address)
        else:
            summary = annotate(load_pipeline(pipeline, gpu_id), pipeline, input_path, output, settings)
    except (OSError, ValueError, ImportError, RuntimeError) as err:  # RuntimeError: OutputInUse; OSError: UnsafeOutput
        fail(str(err))
    for line in summary.lines():
        typer.echo(line)
