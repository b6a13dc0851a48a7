"""Commands on model files: export-lm (an LM as safetensors), import-flair (a trusted Flair .pt)."""
from __future__ import annotations

from pathlib import Path

import typer

from .app import app
from .common import fail


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
    from ..models.lm_io import LMFileError, load_language_model, save_language_model

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
    from ..models.tagger_format import TaggerFormatError
    from ..models.tagger_io import TaggerLoadError, import_flair_tagger

    if not pt_file.is_file():
        fail(f"{pt_file} does not exist; pass a Flair SequenceTagger .pt file")
    try:
        written = import_flair_tagger(pt_file, output_dir)
    except (TaggerLoadError, TaggerFormatError) as err:
        fail(str(err))
    typer.echo(f"written to {written} ({written.stat().st_size / 1e6:.1f} MB)")
