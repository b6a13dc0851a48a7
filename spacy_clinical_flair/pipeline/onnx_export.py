"""``export-onnx``: a saved pipeline whose character LMs (and taggers' networks) run on ONNX Runtime.

:func:`export_onnx` loads a pipeline, predicts check texts with PyTorch in fp32, switches every ``clinical_flair_ner``
component and Flair vectors layer to engine "onnx" at the precision asked for (:func:`~.precision_switch.set_engine`),
predicts the texts again and refuses to write anything when the entities agree less than ``min_agreement``. Else
it saves the pipeline with the graphs it ran (the component folder's ``*.onnx`` files; inside the Flair layer's
weights) and ``engine = "onnx"`` in its config, loads the copy back and checks that it predicts exactly what was
measured. Decoding (Viterbi, spans, offsets) is the project's own in both engines, so offsets cannot move; only the
LM states and emission scores are computed differently.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from thinc.api import Config

from ..ml.precision import check_engine

if TYPE_CHECKING:
    from spacy.language import Language

Entity = Tuple[int, int, str]
#: entity agreement below which an export is refused unless the caller lowers it (issue 35: 99.5%)
MIN_AGREEMENT = 0.995
FLAIR_LAYER_PREFIX = "clinical_flair.FlairVectors"


class ExportRefused(ValueError):
    """The ONNX engine would change too many entities, or the pipeline has nothing to export."""


@dataclass
class ExportReport:
    """What an export measured and wrote."""

    precision: str
    parts: int  # clinical_flair_ner components + Flair vectors layers switched to ONNX
    documents: int
    entities_torch: int
    entities_onnx: int
    shared: int
    agreement: Optional[float]  # None: no check texts
    onnx_files: List[str]

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def entities(docs: Iterable) -> List[Set[Entity]]:
    """Each Doc's entities as (start_char, end_char, label)."""
    return [{(span.start_char, span.end_char, span.label_) for span in doc.ents} for doc in docs]


def agreement(reference: Sequence[Set[Entity]], other: Sequence[Set[Entity]]) -> Tuple[int, float]:
    """Shared entities over all documents, and their share of the larger of the two totals (1.0 when both are
    empty): an entity counts only when start, end and label are all equal."""
    shared = sum(len(a & b) for a, b in zip(reference, other))
    larger = max(sum(map(len, reference)), sum(map(len, other)))
    return shared, shared / larger if larger else 1.0


def configure_engine(config: Config, engine: str, precision: str) -> int:
    """Set ``engine`` and ``precision`` in ``config`` (a pipeline's, in place) for every ``clinical_flair_ner``
    component and Flair vectors layer; returns how many."""
    count = 0

    def visit(node: Any) -> None:
        nonlocal count
        if isinstance(node, dict):
            if node.get("factory") == "clinical_flair_ner" or \
                    str(node.get("@architectures", "")).startswith(FLAIR_LAYER_PREFIX):
                node["engine"], node["precision"] = engine, precision
                count += 1
            for value in node.values():
                visit(value)

    visit(config)
    return count


def export_onnx(nlp: "Language", output: Path, precision: str = "fp32", texts: Sequence[str] = (),
                min_agreement: float = MIN_AGREEMENT) -> ExportReport:
    """Save ``nlp`` (a loaded pipeline) into ``output`` (a new or empty folder) with engine "onnx" at
    ``precision`` ("fp32" or "int8"), after measuring on ``texts`` that the entities agree at least
    ``min_agreement`` with PyTorch fp32 (ExportRefused otherwise, and nothing is written)."""
    import spacy

    from .precision_switch import set_engine

    check_engine("onnx", precision)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise ExportRefused(f"{output} exists and is not an empty folder: choose a new output folder")
    parts = set_engine(nlp, "torch", "fp32")
    if not parts:
        raise ExportRefused("the pipeline has no clinical_flair_ner component and no Flair vectors layer: nothing "
                            "runs character LMs, so there is nothing to export")
    reference = entities(nlp.pipe(texts))
    set_engine(nlp, "onnx", precision)
    measured = entities(nlp.pipe(texts))
    shared, share = agreement(reference, measured)
    report = ExportReport(precision, parts, len(texts), sum(map(len, reference)), sum(map(len, measured)), shared,
                          share if texts else None, [])
    if texts and share < min_agreement:
        raise ExportRefused(f"with engine 'onnx' at {precision}, {shared} of {max(report.entities_torch, report.entities_onnx)} "
                            f"entities agree with PyTorch fp32 on the {len(texts)} check texts ({share:.2%}), below "
                            f"the {min_agreement:.2%} asked for: nothing was written. Export in fp32, or lower "
                            "--min-agreement if the loss is acceptable")
    nlp.to_disk(output)
    config = Config().from_disk(output / "config.cfg", interpolate=False)
    configure_engine(config, "onnx", precision)
    config.to_disk(output / "config.cfg", interpolate=False)
    reloaded = spacy.load(output)
    if texts and entities(reloaded.pipe(texts)) != measured:
        raise RuntimeError(f"the pipeline saved in {output} predicts other entities than the one measured: please "
                           "report this as a bug")
    report.onnx_files = sorted(str(path.relative_to(output)) for path in output.rglob("*.onnx"))
    return report
