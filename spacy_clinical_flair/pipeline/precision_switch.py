"""``set_precision(nlp, precision)`` and ``set_engine(nlp, engine)``: one switch for every character LM of a loaded
pipeline."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..ml.flair_tok2vec import flair_shims
from ..ml.precision import check_engine, check_precision
from .component import ClinicalFlairNER

if TYPE_CHECKING:
    from spacy.language import Language


def set_precision(nlp: "Language", precision: str) -> int:
    """Set the prediction precision of every ``clinical_flair_ner`` component and Flair vectors layer of ``nlp``
    (a loaded pipeline). Returns how many were set."""
    check_precision(precision)
    count = 0
    for _, component in nlp.components:
        if isinstance(component, ClinicalFlairNER):
            component.set_precision(precision)
            count += 1
    for shim in flair_shims(nlp):
        shim.set_precision(precision)
        count += 1
    return count


def set_engine(nlp: "Language", engine: str, precision: str = "fp32") -> int:
    """Predict with ``engine`` ("torch", or "onnx": ONNX Runtime on the CPU, the ``onnx`` extra) at ``precision``
    ("fp32"; "bf16" with torch; "int8" with onnx) in every ``clinical_flair_ner`` component (its LMs and
    network) and Flair vectors layer of ``nlp``. Returns how many were set."""
    check_engine(engine, precision)
    count = 0
    for _, component in nlp.components:
        if isinstance(component, ClinicalFlairNER):
            component.set_engine(engine, precision)
            count += 1
    for shim in flair_shims(nlp):
        shim.set_engine(engine, precision)
        count += 1
    return count
