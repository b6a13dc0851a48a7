"""Commands on model files: export-lm (an LM as safetensors), import-flair (a trusted Flair .pt), export-onnx (a
pipeline on ONNX Runtime)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from .app import app
from .common import fail, read_docbin_or_exit


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


class OnnxPrecision(str, Enum):
    """The precisions of engine "onnx" (``precision.check_engine``)."""

    fp32 = "fp32"
    int8 = "int8"


@app.command("export-onnx")
def export_onnx_command(
    pipeline: str = typer.Argument(..., help="A saved pipeline (folder or installed package) with clinical_flair_ner "
                                             "components or the Flair vectors layer."),
    output: Path = typer.Argument(..., help="A new (or empty) folder for the pipeline that runs on ONNX Runtime."),
    precision: OnnxPrecision = typer.Option(OnnxPrecision.fp32, help="fp32 (same entities as PyTorch), or int8 "
                                            "weights for the LSTMs and linear layers (faster; checked on --check)."),
    check: Optional[Path] = typer.Option(None, help="Texts to measure entity agreement with PyTorch fp32 on: a "
                                          "folder of .txt files or a .spacy file. Needed for int8."),
    min_agreement: float = typer.Option(0.995, min=0.0, max=1.0, help="Refuse the export below this share of "
                                        "entities equal (start, end, label) to PyTorch fp32's."),
    lang: str = typer.Option("es", help="Language of a .spacy check file."),
) -> None:
    """Write PIPELINE with its character LMs (and taggers' BiLSTM and emission layers) as ONNX graphs run by ONNX
    Runtime on the CPU (the onnx extra): `engine = "onnx"` in its config, graphs checked when loaded. Decoding and
    offsets stay this package's own. Nothing is written when the entities on --check agree too little."""
    from ..pipeline.onnx_export import ExportRefused, export_onnx
    from .common import load_pipeline

    if precision == OnnxPrecision.int8 and check is None:
        fail("int8 changes the LM states: pass --check TEXTS (a folder of .txt files or a .spacy file) so that the "
             "entity agreement with PyTorch fp32 is measured before the export")
    texts = check_texts(check, lang) if check is not None else []
    try:
        report = export_onnx(load_pipeline(pipeline, -1), output, precision.value, texts, min_agreement)
    except (ExportRefused, ImportError, ValueError) as err:
        fail(str(err))
    if report.agreement is not None:
        typer.echo(f"{report.shared} of {max(report.entities_torch, report.entities_onnx)} entities equal to PyTorch "
                   f"fp32's on {report.documents} texts ({report.agreement:.2%})")
    else:
        typer.echo("no --check texts: agreement not measured (fp32 graphs compute PyTorch's states to 1e-5)")
    typer.echo(f"{report.parts} part(s) on ONNX Runtime, {precision.value}: {output} "
               f"({len(report.onnx_files)} .onnx files in component folders, Flair-layer graphs inside its weights)")


def check_texts(path: Path, lang: str) -> List[str]:
    """The texts of a folder of .txt files or of a .spacy file; a clear exit when there are none."""
    if path.is_dir():
        texts = [file.read_bytes().decode("utf-8") for file in sorted(path.rglob("*.txt"))]
    elif path.suffix == ".spacy":
        texts = [doc.text for doc in read_docbin_or_exit(path, lang)]
    else:
        fail(f"--check {path}: expected a folder of .txt files or a .spacy file")
    if not texts:
        fail(f"--check {path} holds no texts")
    return texts
