"""Command-line interface: thin wrappers that parse arguments, call the library and print.

``python -m spacy_clinical_flair --help`` lists the commands.
"""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Iterator, List, Optional

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="spacy-clinical-flair: clinical NER with Flair character LMs in spaCy: BRAT conversion, LM and NER "
         "training, annotation at scale, error reports.",
)


def fail(message: str) -> None:
    """Print an error that says what was wrong and stop with exit code 1 (no traceback)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def read_docbin(path: Path, lang: str) -> Iterator:
    """Docs of a ``.spacy`` file; a missing or unreadable file ends the command with its error."""
    from .docs import read_docbin as read

    try:
        return read(path, lang)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))


def load_pipeline(pipeline: str, gpu_id: int):
    """``spacy.load`` of a pipeline folder or package, on GPU ``gpu_id`` (-1: CPU); failure ends the command."""
    import spacy

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    try:
        return spacy.load(pipeline)
    except (OSError, ValueError) as err:
        fail(f"could not load the pipeline {pipeline!r}: {err}")


class Discontinuous(str, Enum):
    """``flatten.DISCONTINUOUS_POLICIES``."""

    skip = "skip"
    cover = "cover"


class PrecisionChoice(str, Enum):
    """``precision.PRECISIONS``."""

    fp32 = "fp32"
    bf16 = "bf16"


class TokenizerChoice(str, Enum):
    """``tokenizer.TOKENIZERS``."""

    clinical = "clinical"
    default = "default"


class OutputFormat(str, Enum):
    """``annotate_io.SHARD_NAMES``."""

    brat = "brat"
    jsonl = "jsonl"
    parquet = "parquet"
    spacy = "spacy"


class Engine(str, Enum):
    """Where ``annotate`` runs."""

    local = "local"
    ray = "ray"


@app.command("convert")
def convert_command(
    input_dir: Path = typer.Argument(..., help="BRAT folder: NAME.txt files with NAME.ann beside them (searched recursively)."),
    output: Path = typer.Argument(..., help="The .spacy (DocBin) file to write."),
    lang: str = typer.Option("es", "--lang", "-l", help="spaCy language code of the tokenizer."),
    discontinuous: Discontinuous = typer.Option(
        Discontinuous.skip, help="Discontinuous entities with a real gap: 'skip' keeps them only in doc.spans['brat']; "
        "'cover' puts their covering span in doc.ents."),
    tokenizer: TokenizerChoice = typer.Option(
        TokenizerChoice.clinical, help="'clinical' (spaCy's plus splits such as 'H.' -> 'H' '.', 'Edad:62' -> 'Edad' ':' '62'; "
        "what configs/pipeline.cfg uses) or 'default' (spaCy's own). Use the pipeline's tokenizer."),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write the summary as JSON to this file."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Progress bar (default: on a terminal)."),
    show_problems: int = typer.Option(20, help="How many individual problems to print (all are in --report)."),
) -> None:
    """Convert a BRAT standoff folder to a spaCy DocBin, flattening nested entities."""
    from .brat import find_brat_files
    from .convert import convert_brat_folder
    if not input_dir.is_dir():
        fail(f"input folder {input_dir} does not exist or is not a folder")
    if output.suffix != ".spacy":
        fail(f"output {output} should end in .spacy")
    if not find_brat_files(input_dir)[0]:
        fail(f"no .txt files found under {input_dir}")
    _, result = convert_brat_folder(input_dir, output, lang=_checked_lang(lang), discontinuous=discontinuous.value,
                                    progress=progress, tokenizer=tokenizer.value)
    typer.echo(result.summary())
    for problem in result.problems[:show_problems]:
        typer.echo(f"  {problem}")
    if len(result.problems) > show_problems:
        typer.echo(f"  ... {len(result.problems) - show_problems} more problems (see --report)")
    if report:
        result.write_json(report)
        typer.echo(f"report written to {report}")
    typer.echo(f"wrote {result.documents} documents to {output}")


@app.command("export-brat")
def export_brat_command(
    input_file: Path = typer.Argument(..., help="A .spacy (DocBin) file, e.g. predictions."),
    output_dir: Path = typer.Argument(..., help="Folder to write NAME.txt + NAME.ann pairs into."),
    spans_key: Optional[str] = typer.Option(
        None, help="Export this span group (e.g. 'brat' for every original entity) instead of doc.ents."),
    lang: str = typer.Option("es", "--lang", "-l", help="spaCy language code used to read the DocBin."),
) -> None:
    """Write each Doc of a DocBin as a BRAT .txt/.ann pair, named by its doc_id."""
    from .export import export_docs_to_brat

    docs = read_docbin(input_file, _checked_lang(lang))
    result = export_docs_to_brat(docs, output_dir, spans_key=spans_key)
    typer.echo(result.summary())
    typer.echo(f"written to {output_dir}")


@app.command("to-flair")
def to_flair_command(
    input_file: Path = typer.Argument(..., help="A .spacy (DocBin) file with doc.ents."),
    output: Path = typer.Argument(..., help="Flair column file to write (token and BIOES tag per line)."),
    lang: str = typer.Option("es", "--lang", "-l", help="spaCy language code used to read the DocBin."),
) -> None:
    """Write Flair training data: one sentence per spaCy sentence, BIOES tags, spaCy tokens unchanged."""
    from .flair_data import write_column_file

    result = write_column_file(read_docbin(input_file, _checked_lang(lang)), output)
    typer.echo(result.summary())
    typer.echo(f"written to {output}")


@app.command("export-lm")
def export_lm_command(
    input_file: Path = typer.Argument(..., help="A character LM: Flair .pt (e.g. train-lm's best-lm.pt) or .safetensors."),
    output: Path = typer.Argument(..., help="The .safetensors file to write (weights + JSON config, no pickle)."),
    half: bool = typer.Option(False, "--half/--full", help="Store float16 weights (half the size)."),
    decoder: bool = typer.Option(True, "--decoder/--no-decoder",
                                 help="Keep the output layer (needed to fine-tune the LM; not to embed text)."),
) -> None:
    """Write a character LM as safetensors + JSON, the format of assets/lms/ and of LMs inside pipelines.
    Reading a Flair .pt file unpickles it: convert only files you trust."""
    from .lm_io import LMFileError, load_language_model, save_language_model

    if output.suffix != ".safetensors":
        fail(f"output {output} should end in .safetensors")
    try:
        lm = load_language_model(input_file, has_decoder=decoder)
    except (FileNotFoundError, LMFileError) as err:
        fail(str(err))
    save_language_model(lm, output, half=half)
    direction = "forward" if lm.is_forward_lm else "backward"
    typer.echo(f"{direction} LM, hidden {lm.hidden_size}, {len(lm.dictionary)} characters: {output} "
               f"({output.stat().st_size / 1e6:.1f} MB)")


@app.command("import-flair")
def import_flair_command(
    pt_file: Path = typer.Argument(..., help="A Flair SequenceTagger .pt file (a pickle) that you trust."),
    output_dir: Path = typer.Argument(..., help="Folder to write model.safetensors into (created if needed)."),
) -> None:
    """Convert one trusted Flair tagger .pt (a pickle: loading it can run code) to this package's safe format,
    safetensors + JSON, which clinical_flair_ner loads without unpickling (config 'model' = OUTPUT_DIR)."""
    from .tagger_format import TaggerFormatError
    from .tagger_io import import_flair_tagger
    from .tagger_io import TaggerLoadError

    if not pt_file.is_file():
        fail(f"{pt_file} does not exist; pass a Flair SequenceTagger .pt file")
    try:
        written = import_flair_tagger(pt_file, output_dir)
    except (TaggerLoadError, TaggerFormatError) as err:
        fail(str(err))
    typer.echo(f"written to {written} ({written.stat().st_size / 1e6:.1f} MB)")


@app.command("annotate")
def annotate_command(
    pipeline: str = typer.Argument(..., help="A pipeline folder or installed package name (spacy.load)."),
    input_path: Path = typer.Argument(..., help="A folder of .txt files (recursive; .ann ignored), a .jsonl file of "
                                      "{id, text} objects, a .spacy file, or a .parquet file with id/text columns."),
    output: Path = typer.Argument(..., help="Folder for the shards, annotate.json (the job) and summary.json."),
    output_format: OutputFormat = typer.Option(
        OutputFormat.jsonl, "--format", help="brat: .txt/.ann pairs per document; jsonl: id + entities (offsets, "
        "label, text, score) per document; parquet: one row per entity; spacy: DocBin."),
    shard_size: int = typer.Option(1000, min=1, help="Documents per shard; each shard is written atomically."),
    batch_size: int = typer.Option(64, min=1, help="Documents per nlp.pipe batch."),
    n_process: int = typer.Option(1, min=1, help="CPU worker processes for nlp.pipe."),
    max_chars: int = typer.Option(1_000_000, min=1, help="Longer documents are reported and skipped."),
    id_field: str = typer.Option("id", help="JSONL field / Parquet column of the document id."),
    text_field: str = typer.Option("text", help="JSONL field / Parquet column of the text."),
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
    from .annotate import AnnotateSettings, annotate

    settings = AnnotateSettings(output_format.value, shard_size, id_field, text_field, max_chars, batch_size,
                                n_process, resume, progress, precision.value if precision else None)
    try:
        if engine == Engine.ray:
            from .annotate_ray import annotate_with_ray

            summary = annotate_with_ray(pipeline, input_path, output, settings, workers, gpus_per_worker, address)
        else:
            summary = annotate(load_pipeline(pipeline, gpu_id), pipeline, input_path, output, settings)
    except (FileNotFoundError, ValueError, ImportError, RuntimeError) as err:  # RuntimeError: OutputInUse
        fail(str(err))
    for line in summary.lines():
        typer.echo(line)


@app.command("check-overlap")
def check_overlap_command(
    test: List[Path] = typer.Argument(..., help="Evaluation splits: folders of .txt files (BRAT folders work) or .spacy files."),
    text: List[Path] = typer.Option(..., "--text", help="LM text: a folder of .txt files or a .spacy file (repeatable)."),
    max_share: float = typer.Option(0.005, min=0.0, max=1.0, help="Largest share of a split's sentences allowed."),
    output: Optional[Path] = typer.Option(None, help="Write the report here as JSON."),
    lang: str = typer.Option("es", help="Language of .spacy files."),
) -> None:
    """Report the share of each evaluation split's sentences (of 10 words or more) found in the LM text, and
    exit with code 1 when any share is above --max-share, as train-lm does with [corpus] check_against."""
    from .training.contamination import ContaminatedText
    from .training.lm import check_test_overlap, gather_texts

    try:
        texts = gather_texts([p for p in text if p.is_file()], [p for p in text if not p.is_file()], lang)
        _, reports = check_test_overlap(texts, [str(p) for p in test], output, lang, max_share)
    except ContaminatedText as err:
        fail(str(err))
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))
    for report in reports:
        typer.echo(report.summary())


def _system_docs(system: str, gold: list, lang: str, gpu_id: int) -> list:
    """A system's predictions on the gold documents: a ``.spacy`` file of them, or a pipeline run on their texts."""
    if system.endswith(".spacy"):
        return list(read_docbin(Path(system), lang))
    nlp = load_pipeline(system, gpu_id)
    return list(nlp.pipe(doc.text for doc in gold))


@app.command("compare")
def compare_command(
    gold: Path = typer.Argument(..., help="Gold .spacy file, e.g. corpus/test.spacy."),
    system_a: str = typer.Argument(..., help="System A: a pipeline (folder or package) or a .spacy file of its "
                                   "predictions on the gold documents, in their order."),
    system_b: str = typer.Argument(..., help="System B, the same way."),
    samples: int = typer.Option(10000, min=1, help="Bootstrap resamples of the documents."),
    seed: int = typer.Option(0, help="Seed of the resampling."),
    output: Optional[Path] = typer.Option(None, help="Write the result here as JSON."),
    lang: str = typer.Option("es", help="Language of the .spacy files."),
    gpu_id: int = typer.Option(-1, help="GPU for running pipelines (-1: CPU)."),
) -> None:
    """Paired bootstrap of two systems' strict micro F1 over the gold documents: each F1, the difference
    A - B with its 95% interval, and its two-sided p-value."""
    import srsly

    from .significance import compare_docs

    gold_docs = list(read_docbin(gold, lang))
    docs_a = _system_docs(system_a, gold_docs, lang, gpu_id)
    docs_b = _system_docs(system_b, gold_docs, lang, gpu_id)
    try:
        result = compare_docs(gold_docs, docs_a, docs_b, samples, seed)
    except ValueError as err:
        fail(str(err))
    typer.echo(result.summary(system_a, system_b))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(output, {"gold": str(gold), "a": system_a, "b": system_b, **result.to_dict()})


@app.command("report")
def report_command(
    pipeline: str = typer.Argument(..., help="A pipeline folder or installed package name (spacy.load)."),
    data: Path = typer.Argument(..., help="A .spacy file with gold entities, e.g. corpus/dev.spacy."),
    output: Path = typer.Argument(..., help="The HTML page to write."),
    limit: int = typer.Option(0, min=0, help="Only the first N documents (0: all)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for the CPU."),
) -> None:
    """Write an error-analysis page: per-label P/R/F1, then every document with gold and predicted entities
    (displaCy), misses and spurious predictions marked."""
    import itertools

    from .report import error_report, render_html

    nlp = load_pipeline(pipeline, gpu_id)
    docs = read_docbin(data, nlp.lang)
    result = error_report(nlp, itertools.islice(docs, limit) if limit else docs)
    if not result.documents:
        fail(f"{data} holds no documents")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_html(result, title=f"{pipeline} on {data.name}"), encoding="utf-8")
    scores = result.scores
    typer.echo(f"{len(result.documents)} documents | P {scores['ents_p']:.4f} R {scores['ents_r']:.4f} "
               f"F1 {scores['ents_f']:.4f} | written to {output}")


OVERRIDES = {"allow_extra_args": True, "ignore_unknown_options": True}


class Direction(str, Enum):
    forward = "forward"
    backward = "backward"
    both = "both"


def _overrides(ctx: typer.Context) -> dict:
    from .training.config import parse_overrides

    try:
        return parse_overrides(ctx.args)
    except ValueError as err:
        fail(str(err))


def _load_config(config: Path, ctx: typer.Context):
    from .training.config import load_training_config

    try:
        return load_training_config(config, _overrides(ctx))
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))


@app.command("train-lm", context_settings=OVERRIDES)
def train_lm_command(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="LM config, e.g. configs/lm_cpu.cfg."),
    output_dir: Path = typer.Argument(..., help="Folder for the corpus, checkpoints and best-lm.pt."),
    direction: Direction = typer.Option(
        Direction.forward, help="'forward', 'backward', or 'both': two processes side by side, writing "
        "OUTPUT_DIR/forward and OUTPUT_DIR/backward (on 2 cores about 1.3x the characters per second of one "
        "after the other)."),
    resume: bool = typer.Option(False, "--resume/--no-resume",
                                help="Continue from OUTPUT_DIR/checkpoint.pt instead of starting afresh."),
    threads: int = typer.Option(0, min=0, help="Torch threads (0: torch's default; with 'both': half the cores each)."),
    base_forward: Optional[str] = typer.Option(
        None, help="Base LM to fine-tune when training the forward LM (overrides [lm] base; 'null': from scratch)."),
    base_backward: Optional[str] = typer.Option(
        None, help="Base LM to fine-tune when training the backward LM (overrides [lm] base; 'null': from scratch)."),
) -> None:
    """Train a forward or backward character LM, from scratch or fine-tuning the config's base LM. Extra
    --section.key value arguments override the config, like spacy train."""
    from .training.lm import (LMCorpusTooSmall, LMTrainingFailed, corpus_summary, result_summary, train_lm,
                              train_lm_pair)

    cfg = _load_config(config, ctx)
    bases = {"forward": base_forward, "backward": base_backward}
    try:
        if direction == Direction.both:
            typer.echo(f"training the forward and backward LMs side by side; logs: {output_dir}/train-lm-*.log")
            results = train_lm_pair(cfg, output_dir, bases, resume, threads,
                                    on_progress=lambda d, line: typer.echo(f"{d}: {line}"))
            for name, result in results.items():
                typer.echo(result_summary(name, result))
            return
        result = train_lm(cfg, output_dir, direction.value, bases[direction.value], resume, threads,
                          on_corpus=lambda info: typer.echo(corpus_summary(info)))
    except (FileNotFoundError, LMCorpusTooSmall, LMTrainingFailed, ValueError, RuntimeError) as err:
        fail(str(err))
    typer.echo(result_summary(direction.value, result))


@app.command("train-ner", context_settings=OVERRIDES)
def train_ner_command(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="NER config, e.g. configs/ner_demo.cfg."),
    output_dir: Path = typer.Argument(..., help="Folder for Flair's training logs and the chosen tagger (model.safetensors)."),
) -> None:
    """Train the BiLSTM(-CRF) tagger on [paths] train/dev .spacy files over the stacked LM embeddings. Extra
    --section.key value arguments override the config."""
    import time

    from .training.ner import result_summary, train_ner_from_config

    started_at = time.perf_counter()  # ner.max_minutes covers reading the data too
    cfg = _load_config(config, ctx)
    try:
        result = train_ner_from_config(cfg, output_dir, started_at=started_at)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))
    typer.echo(result_summary(result))
    if result.epochs == 0:
        typer.secho("warning: no epoch finished within ner.max_minutes; model.safetensors is the state at the interruption, "
                    "never evaluated on dev. Raise ner.max_minutes (or lower the model size).",
                    fg=typer.colors.YELLOW, err=True)


@app.command("train-spacy", context_settings=OVERRIDES)
def train_spacy_command(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="spaCy training config, e.g. configs/spacy_flair_ner.cfg."),
    output_dir: Path = typer.Argument(..., help="Folder for model-best/ and model-last/."),
    max_minutes: float = typer.Option(0.0, min=0.0, help="Wall-clock budget from the start of the command "
                                      "(reading data and LM vectors included); 0: none."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for the CPU."),
) -> None:
    """spacy train with a time budget: stops after the last dev evaluation that fits in --max-minutes. Extra
    --section.key value arguments override the config, as with spacy train."""
    import time

    from .training.lm import write_result
    from .training.spacy_train import train_spacy_pipeline

    started_at = time.time()
    overrides = _overrides(ctx)
    try:
        result = train_spacy_pipeline(config, output_dir, overrides, max_minutes=max_minutes, use_gpu=gpu_id,
                                      started_at=started_at)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))
    write_result(output_dir / "train-result.json", result)
    score = "no dev score" if result.best_score is None else f"best dev score {result.best_score:.4f}"
    typer.echo(f"pipeline: {result.best_model} | {score} | {result.seconds:.0f} s"
               + (" | stopped by the time budget" if result.stopped_by_budget else ""))


def _checked_lang(lang: str) -> str:
    import spacy

    try:
        spacy.blank(lang)
    except Exception:
        fail(f"unknown spaCy language code {lang!r} (e.g. 'es', 'pt', 'en')")
    return lang


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point of ``python -m spacy_clinical_flair`` and the ``clinical-flair`` script."""
    app(args=argv)
