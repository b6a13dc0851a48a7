"""Training commands: train-lm, train-tagger (the clinical_flair_ner tagger), train-spacy-ner (spaCy pipelines);
train-ner and train-spacy are hidden old names."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from .app import app
from .common import fail

OVERRIDES = {"allow_extra_args": True, "ignore_unknown_options": True}


class DirectionChoice(str, Enum):
    forward = "forward"
    backward = "backward"
    both = "both"


def _overrides(ctx: typer.Context) -> dict:
    from spacy.cli._util import parse_config_overrides

    return parse_config_overrides(ctx.args)


def _load_config(config: Path, ctx: typer.Context):
    from ..training.config import load_training_config

    try:
        return load_training_config(config, _overrides(ctx))
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))


@app.command("train-lm", context_settings=OVERRIDES)
def train_lm_command(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="LM config, e.g. configs/lm_cpu.cfg."),
    output_dir: Path = typer.Argument(..., help="Folder for the corpus, checkpoints and best-lm.pt."),
    direction: DirectionChoice = typer.Option(
        DirectionChoice.forward, help="'forward', 'backward', or 'both': two processes side by side, writing "
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
    from ..training.lm import lm_result_summary, train_lm
    from ..training.lm_corpus import LMCorpusTooSmall, corpus_summary
    from ..training.lm_pair import LMTrainingFailed, train_lm_pair

    cfg = _load_config(config, ctx)
    bases = {"forward": base_forward, "backward": base_backward}
    try:
        if direction == DirectionChoice.both:
            typer.echo(f"training the forward and backward LMs side by side; logs: {output_dir}/train-lm-*.log")
            results = train_lm_pair(cfg, output_dir, bases, resume, threads,
                                    on_progress=lambda d, line: typer.echo(f"{d}: {line}"))
            for name, result in results.items():
                typer.echo(lm_result_summary(name, result))
            return
        result = train_lm(cfg, output_dir, direction.value, bases[direction.value], resume, threads,
                          on_corpus=lambda info: typer.echo(corpus_summary(info)))
    except (FileNotFoundError, LMCorpusTooSmall, LMTrainingFailed, ValueError, RuntimeError) as err:
        fail(str(err))
    typer.echo(lm_result_summary(direction.value, result))


@app.command("train-tagger", context_settings=OVERRIDES)
def train_tagger_command(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="NER config, e.g. configs/ner_demo.cfg."),
    output_dir: Path = typer.Argument(..., help="Folder for Flair's training logs and the chosen tagger (model.safetensors)."),
) -> None:
    """Train the Flair BiLSTM(-CRF) tagger of the clinical_flair_ner component on [paths] train/dev .spacy files
    over the stacked LM embeddings. Extra --section.key value arguments override the config."""
    import time

    from ..training.ner import result_summary, train_ner_from_config

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


@app.command("train-spacy-ner", context_settings=OVERRIDES)
def train_spacy_ner_command(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="spaCy training config, e.g. configs/spacy_flair_ner.cfg."),
    output_dir: Path = typer.Argument(..., help="Folder for model-best/ and model-last/."),
    max_minutes: float = typer.Option(0.0, min=0.0, help="Wall-clock budget from the start of the command "
                                      "(reading data and LM vectors included); 0: none."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for the CPU."),
) -> None:
    """Train spaCy's own ner (e.g. on the Flair layer): spacy train with a time budget, stopping after the last dev
    evaluation that fits in --max-minutes. Extra --section.key value arguments override the config, as with
    spacy train."""
    import time

    from ..training.results import write_result
    from ..training.spacy_train import train_spacy_pipeline

    started_at = time.time()
    overrides = _overrides(ctx)
    try:
        result = train_spacy_pipeline(config, output_dir, overrides, max_minutes=max_minutes, use_gpu=gpu_id,
                                      started_at=started_at)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))
    write_result(output_dir / "train-result.json", result)
    if not result.best_model.is_dir():  # the budget ran out before the first dev evaluation
        fail(f"no dev evaluation fitted in --max-minutes {max_minutes:g} ({result.seconds:.0f} s spent, reading the "
             f"data and computing the LM vectors included), so {result.best_model} was not written; raise "
             "--max-minutes (in the project: --vars.ner_minutes; in its quality workflow: --vars.quality_minutes)")
    score = "no dev score" if result.best_score is None else f"best dev score {result.best_score:.4f}"
    typer.echo(f"pipeline: {result.best_model} | {score} | {result.seconds:.0f} s"
               + (" | stopped by the time budget" if result.stopped_by_budget else ""))


# the names before 2026-12: hidden aliases, kept for one release
app.command("train-ner", context_settings=OVERRIDES, hidden=True,
            help="Old name of train-tagger (kept for one release).")(train_tagger_command)
app.command("train-spacy", context_settings=OVERRIDES, hidden=True,
            help="Old name of train-spacy-ner (kept for one release).")(train_spacy_ner_command)
