"""Commands on corpora: convert (BRAT → .spacy), export-brat (.spacy → BRAT), to-flair."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app
from .common import Discontinuous, TokenizerChoice, checked_lang, fail, read_docbin_or_exit


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
    from ..corpus.brat import find_brat_files
    from ..corpus.convert import convert_brat_folder
    if not input_dir.is_dir():
        fail(f"input folder {input_dir} does not exist or is not a folder")
    if output.suffix != ".spacy":
        fail(f"output {output} should end in .spacy")
    if not find_brat_files(input_dir)[0]:
        fail(f"no .txt files found under {input_dir}")
    _, result = convert_brat_folder(input_dir, output, lang=checked_lang(lang), discontinuous=discontinuous.value,
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
    overwrite: bool = typer.Option(
        False, help="Write into a folder that already holds files, replacing pairs of the same names (never "
                    "through a symlink: such documents are reported and not written)."),
) -> None:
    """Write each Doc of a DocBin as a BRAT .txt/.ann pair, named by its doc_id, into an empty or new folder."""
    from ..corpus.export import OutputNotEmpty, export_docs_to_brat

    docs = read_docbin_or_exit(input_file, checked_lang(lang))
    try:
        result = export_docs_to_brat(docs, output_dir, spans_key=spans_key, overwrite=overwrite)
    except OutputNotEmpty as err:
        raise typer.BadParameter(str(err), param_hint="OUTPUT_DIR") from None
    typer.echo(result.summary())
    typer.echo(f"written to {output_dir}")


@app.command("to-flair")
def to_flair_command(
    input_file: Path = typer.Argument(..., help="A .spacy (DocBin) file with doc.ents."),
    output: Path = typer.Argument(..., help="Flair column file to write (token and BIOES tag per line)."),
    lang: str = typer.Option("es", "--lang", "-l", help="spaCy language code used to read the DocBin."),
) -> None:
    """Write Flair training data: one sentence per spaCy sentence, BIOES tags, spaCy tokens unchanged."""
    from ..models.flair_data import write_column_file

    result = write_column_file(read_docbin_or_exit(input_file, checked_lang(lang)), output)
    typer.echo(result.summary())
    typer.echo(f"written to {output}")
