"""Command-line interface: thin wrappers that parse arguments, call the library and print.

``python -m spacy_clinical_flair --help`` lists the commands.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, List, Optional

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="spacy-clinical-flair: BRAT ⇄ spaCy conversion and Flair training data for clinical NER.",
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


@app.command("convert")
def convert_command(
    input_dir: Path = typer.Argument(..., help="BRAT folder: NAME.txt files with NAME.ann beside them (searched recursively)."),
    output: Path = typer.Argument(..., help="The .spacy (DocBin) file to write."),
    lang: str = typer.Option("es", "--lang", "-l", help="spaCy language code of the tokenizer."),
    discontinuous: str = typer.Option(
        "skip", help="Discontinuous entities with a real gap: 'skip' keeps them only in doc.spans['brat']; "
        "'cover' puts their covering span in doc.ents."),
    tokenizer: str = typer.Option(
        "clinical", help="'clinical' (spaCy's plus splits such as 'H.' -> 'H' '.', 'Edad:62' -> 'Edad' ':' '62'; "
        "what configs/pipeline.cfg uses) or 'default' (spaCy's own). Use the pipeline's tokenizer."),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write the summary as JSON to this file."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Progress bar (default: on a terminal)."),
    show_problems: int = typer.Option(20, help="How many individual problems to print (all are in --report)."),
) -> None:
    """Convert a BRAT standoff folder to a spaCy DocBin, flattening nested entities."""
    from .brat import find_brat_files
    from .convert import convert_brat_folder
    from .flatten import DISCONTINUOUS_POLICIES

    from .tokenizer import TOKENIZERS

    if tokenizer not in TOKENIZERS:
        fail(f"--tokenizer must be one of {', '.join(TOKENIZERS)}, not {tokenizer!r}")
    if discontinuous not in DISCONTINUOUS_POLICIES:
        fail(f"--discontinuous must be one of {', '.join(DISCONTINUOUS_POLICIES)}, not {discontinuous!r}")
    if not input_dir.is_dir():
        fail(f"input folder {input_dir} does not exist or is not a folder")
    if output.suffix != ".spacy":
        fail(f"output {output} should end in .spacy")
    if not find_brat_files(input_dir)[0]:
        fail(f"no .txt files found under {input_dir}")
    _, result = convert_brat_folder(input_dir, output, lang=_checked_lang(lang), discontinuous=discontinuous,
                                    progress=progress, tokenizer=tokenizer)
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

    import spacy

    from .report import error_report, render_html

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    try:
        nlp = spacy.load(pipeline)
    except (OSError, ValueError) as err:
        fail(f"could not load the pipeline {pipeline!r}: {err}")
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


def _overrides(ctx: typer.Context) -> dict:
    from spacy.cli._util import parse_config_overrides

    try:
        return parse_config_overrides(list(ctx.args))  # it consumes the list it is given
    except SystemExit:
        fail(f"could not read the config overrides {' '.join(ctx.args)!r}: use --section.key value")


def _load_config(config: Path, ctx: typer.Context):
    from .training.config import load_training_config

    try:
        return load_training_config(config, _overrides(ctx))
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))


@app.command("train-lm", context_settings=OVERRIDES)
def train_lm_command(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="LM config, e.g. configs/lm_demo.cfg."),
    output_dir: Path = typer.Argument(..., help="Folder for the corpus, checkpoints and best-lm.pt."),
    direction: str = typer.Option(
        "forward", help="'forward', 'backward', or 'both': two processes side by side, writing OUTPUT_DIR/forward "
        "and OUTPUT_DIR/backward (on 2 cores about 1.3x the characters per second of one after the other)."),
    resume: bool = typer.Option(False, "--resume/--no-resume",
                                help="Continue from OUTPUT_DIR/checkpoint.pt instead of starting afresh."),
    threads: int = typer.Option(0, min=0, help="Torch threads (0: torch's default; with 'both': half the cores each)."),
    base_forward: Optional[str] = typer.Option(
        None, help="Base LM to fine-tune when training the forward LM (overrides [lm] base; 'null': from scratch)."),
    base_backward: Optional[str] = typer.Option(
        None, help="Base LM to fine-tune when training the backward LM (overrides [lm] base; 'null': from scratch)."),
) -> None:
    """Train a forward or backward character LM, from scratch or fine-tuning the config's base LM. Extra --section.key value
    arguments override the config, like spacy train."""
    from .training.config import settings_from
    from .training.lm import (LMCorpusSettings, LMCorpusTooSmall, LMSettings, check_corpus_fits, gather_texts,
                              prepare_lm_corpus, train_language_model)

    if direction not in ("forward", "backward", "both"):
        fail(f"--direction must be 'forward', 'backward' or 'both', not {direction!r}")
    cfg = _load_config(config, ctx)  # checked here first, so 'both' fails before starting anything
    bases = {"forward": base_forward, "backward": base_backward}
    if direction == "both":
        _train_both_directions(config, output_dir, resume, threads, bases, ctx.args)
        return
    base = bases[direction] if bases[direction] is not None else cfg["lm"].get("base")
    base = None if base in (None, "", "null") else base
    if threads:
        import torch

        torch.set_num_threads(threads)
    try:
        corpus_cfg = cfg["corpus"]
        corpus_settings = settings_from(cfg, "corpus", LMCorpusSettings,
                                        other_keys=("train", "dev", "extra_spacy_files", "text_dirs", "lang"))
        lm_settings = settings_from(cfg, "lm", LMSettings, other_keys=("base",))
        spacy_files = [corpus_cfg.get("train"), corpus_cfg.get("dev"), *corpus_cfg.get("extra_spacy_files", [])]
        texts = gather_texts([Path(p) for p in spacy_files if p],
                             [Path(p) for p in corpus_cfg.get("text_dirs", [])], corpus_cfg.get("lang", "es"))
        info = prepare_lm_corpus(texts, output_dir / "corpus", corpus_settings)
        typer.echo(f"LM corpus: {info.documents} documents, {info.train_chars} training characters in {info.splits} "
                   f"split(s), {info.valid_chars} valid, {info.test_chars} test")
        check_corpus_fits(info, lm_settings)
        result = train_language_model(output_dir / "corpus", output_dir, direction == "forward", lm_settings,
                                      base_lm=base, resume=resume)
    except (FileNotFoundError, LMCorpusTooSmall, ValueError, RuntimeError) as err:
        fail(str(err))
    _write_result(output_dir / "lm-result.json", result)
    typer.echo(f"{direction} LM: {result.model_path} | best valid perplexity {result.best_valid_perplexity} | "
               f"test perplexity {result.test_perplexity} | splits evaluated {result.epochs_logged}"
               + (" | stopped by the time budget" if result.stopped_by_budget else ""))


def _train_both_directions(config: Path, output_dir: Path, resume: bool, threads: int, bases: dict,
                           overrides: List[str]) -> None:
    """Run ``train-lm`` forward and backward as two processes at once, each with its share of the cores."""
    import os
    import subprocess
    import sys

    threads = threads or max(1, (os.cpu_count() or 2) // 2)
    output_dir.mkdir(parents=True, exist_ok=True)
    runs = {}
    for direction in ("forward", "backward"):
        log = output_dir / f"train-lm-{direction}.log"
        command = [sys.executable, "-m", "spacy_clinical_flair", "train-lm", str(config), str(output_dir / direction),
                   "--direction", direction, "--threads", str(threads), "--resume" if resume else "--no-resume",
                   *([f"--base-{direction}", bases[direction]] if bases[direction] is not None else []), *overrides]
        with log.open("w", encoding="utf-8") as handle:
            runs[direction] = (subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT), log)
    typer.echo(f"training the forward and backward LMs side by side, {threads} thread(s) each; logs: "
               + ", ".join(str(log) for _, log in runs.values()))
    try:
        _report_progress(runs)
    finally:  # Ctrl-C (or any error) here must not leave the two trainings running
        for process, _ in runs.values():
            if process.poll() is None:
                process.terminate()
    failed = []
    for direction, (process, log) in runs.items():
        code = process.wait()
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        if code != 0:
            failed.append(direction)
            typer.secho("\n".join(lines[-5:]), err=True)
        else:
            typer.echo(next((line for line in reversed(lines) if line.startswith(f"{direction} LM:")), ""))
    if failed:
        fail(f"the {' and '.join(failed)} LM training failed (see the lines above and its log)")


def _report_progress(runs: dict, every_seconds: float = 30.0) -> None:
    """Until both processes end, print each one's newest end-of-split line (validation perplexity) as it appears."""
    import time

    shown = {direction: "" for direction in runs}
    last_report = time.monotonic()
    while any(process.poll() is None for process, _ in runs.values()):
        time.sleep(0.5)
        if time.monotonic() - last_report < every_seconds:
            continue
        last_report = time.monotonic()
        for direction, (_, log) in runs.items():
            lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                     if "end of split" in line]
            if lines and lines[-1] != shown[direction]:
                shown[direction] = lines[-1]
                typer.echo(f"{direction}: {lines[-1][lines[-1].index('end of split'):].strip()}")


@app.command("train-ner", context_settings=OVERRIDES)
def train_ner_command(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="NER config, e.g. configs/ner_demo.cfg."),
    output_dir: Path = typer.Argument(..., help="Folder for Flair's training files and the chosen model.pt."),
) -> None:
    """Train the BiLSTM-CRF tagger on [paths] train/dev .spacy files over the stacked LM embeddings. Extra
    --section.key value arguments override the config."""
    from .training.config import settings_from
    from .docs import read_docbin as read_docs
    from .training.ner import NERSettings, train_ner

    import time

    started_at = time.perf_counter()  # ner.max_minutes covers reading the data too
    cfg = _load_config(config, ctx)
    try:
        settings = settings_from(cfg, "ner", NERSettings)
        lang = cfg["data"].get("lang", "es")
        dev_path = cfg["paths"].get("dev")
        result = train_ner(list(read_docs(cfg["paths"]["train"], lang)),
                           list(read_docs(dev_path, lang)) if dev_path else [],
                           [Path(cfg["data"][k]) for k in ("lm_forward", "lm_backward") if cfg["data"].get(k)],
                           output_dir, settings, started_at=started_at)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))
    _write_result(output_dir / "ner-result.json", result)
    typer.echo(f"training data: {result.train_sentences} sentences, {result.train_entities} entities; "
               f"{result.entities_left_out} entities left out (they cross a sentence boundary)")
    best = f"best dev F1 {result.dev_f1} (epoch {result.best_epoch})" if result.best_epoch else "no dev evaluation"
    typer.echo(f"tagger: {result.model_path} | labels {', '.join(result.labels)} | {best} | "
               f"{result.epochs} epochs in {result.seconds:.0f} s")
    if result.epochs == 0:
        typer.secho("warning: no epoch finished within ner.max_minutes; model.pt is the state at the interruption, "
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

    from .training.spacy_train import train_spacy_pipeline

    started_at = time.time()
    overrides = _overrides(ctx)
    try:
        result = train_spacy_pipeline(config, output_dir, overrides, max_minutes=max_minutes, use_gpu=gpu_id,
                                      started_at=started_at)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))
    _write_result(output_dir / "train-result.json", result)
    score = "no dev score" if result.best_score is None else f"best dev ents_f {result.best_score:.4f}"
    typer.echo(f"pipeline: {result.best_model} | {score} | {result.seconds:.0f} s"
               + (" | stopped by the time budget" if result.stopped_by_budget else ""))


def _write_result(path: Path, result) -> None:
    import dataclasses
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataclasses.asdict(result), default=str, indent=2), encoding="utf-8")


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
