"""The deidentify command: a folder of notes through a PHI pipeline into de-identified notes and their mappings."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .app import app
from .common import fail, load_pipeline


@app.command("deidentify")
def deidentify_command(
    pipeline: str = typer.Argument(..., help="A PHI pipeline folder or installed package (e.g. es_meddocan_flair)."),
    input_folder: Path = typer.Argument(..., help="A folder of .txt notes (recursive)."),
    output: Path = typer.Argument(..., help="Folder for NAME.txt (de-identified) and NAME.json (its mapping report) "
                                  "per note, at the notes' relative paths; not inside the input folder."),
    operator: str = typer.Option("surrogate", help="Operator for every label: surrogate (realistic values, dates "
                                 "shifted), tag ([LABEL]), mask (*), redact (removed), hash (keyed), keep."),
    label_operator: Optional[List[str]] = typer.Option(None, "--label-operator", help="LABEL=OPERATOR for one "
                                                       "label (repeat the option for more)."),
    key_env: str = typer.Option("CLINICAL_FLAIR_DEID_KEY", help="Environment variable holding the key (at least "
                                "16 bytes); with a key, surrogates and date shifts are the same in every run."),
    key_file: Optional[Path] = typer.Option(None, help="A file holding the key (instead of the variable)."),
    patient_pattern: Optional[str] = typer.Option(None, help="Regular expression whose first group, searched in a "
                                                  "file name, is the patient id: notes of one patient share "
                                                  "surrogates and the date shift. Default: each note on its own."),
    mapping: Optional[Path] = typer.Option(None, help="Write (or add to) this JSON file every original value and "
                                           "its replacement per patient: keep it as safe as the notes."),
    recall_rules: bool = typer.Option(True, "--recall-rules/--no-recall-rules", help="Also replace PHI that rules "
                                      "find by context where the model found nothing (ages, relatives, makers...; "
                                      "docs/deid.md)."),
    propagate: bool = typer.Option(True, "--propagate/--no-propagate", help="Also replace every other mention of "
                                   "a found text."),
    recall_spans: bool = typer.Option(True, "--recall-spans/--no-recall-spans", help="Also replace a second "
                                      "model's entities (the span group deid_recall: es_meddocan_flair's second "
                                      "NER) where the first found nothing."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for the CPU."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """De-identify a folder of notes: PHI found by the pipeline replaced, every replacement in a JSON report."""
    import re

    from ..deid.deidentify import Deidentifier, DeidSettings
    from ..deid.folder import deidentify_folder
    from ..deid.keys import load_key

    try:
        operators = dict(_label_operator(item) for item in label_operator or [])
        settings = DeidSettings(default_operator=operator, operators=operators, propagate=propagate,
                                recall_rules=recall_rules, recall_spans=recall_spans)
        deidentifier = Deidentifier(settings, load_key(key_env, key_file))
        if patient_pattern:
            re.compile(patient_pattern)
    except (ValueError, re.error) as err:  # DeidKeyError is a ValueError
        fail(str(err))
    nlp = load_pipeline(pipeline, gpu_id)
    try:
        summary = deidentify_folder(nlp, deidentifier, input_folder, output, patient_pattern, mapping, progress)
    except (OSError, ValueError) as err:
        fail(str(err))
    for line in summary.lines():
        typer.echo(line)


def _label_operator(item: str) -> tuple:
    label, sep, operator = item.partition("=")
    if not sep or not label or not operator:
        raise ValueError(f"--label-operator {item!r}: write LABEL=OPERATOR, e.g. FECHAS=tag")
    return label, operator
