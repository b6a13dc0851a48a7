"""Commands that measure: check-overlap (LM text against test splits), compare (paired bootstrap), report."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .app import app
from .common import fail, load_pipeline, read_docbin_or_exit


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
    from ..training.contamination import ContaminatedText, check_test_overlap
    from ..training.lm_corpus import gather_texts

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
        return list(read_docbin_or_exit(Path(system), lang))
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

    from ..evaluate.significance import compare_docs

    gold_docs = list(read_docbin_or_exit(gold, lang))
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
    """Write an error-analysis page: strict and lenient P/R/F1 and the error classes per label (correct, wrong
    label, wrong boundary, wrong both, missed, spurious), then every document with gold and predicted entities
    (displaCy), each coloured by its class, gold codes (kb_id_) shown."""
    import itertools

    from ..evaluate.report import error_report, render_html

    nlp = load_pipeline(pipeline, gpu_id)
    docs = read_docbin_or_exit(data, nlp.lang)
    result = error_report(nlp, itertools.islice(docs, limit) if limit else docs)
    if not result.documents:
        fail(f"{data} holds no documents")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_html(result, title=f"{pipeline} on {data.name}"), encoding="utf-8")
    scores = result.scores
    classes = scores["ents_errors"]["ALL"]
    typer.echo(f"{len(result.documents)} documents | P {scores['ents_p']:.4f} R {scores['ents_r']:.4f} "
               f"F1 {scores['ents_f']:.4f} | lenient F1 {scores['ents_lenient_f']:.4f} | written to {output}")
    typer.echo("entities by class: " + ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in classes.items()))
