"""Faster CPU training for a pipeline's thinc models: matrix products through numpy's BLAS.

thinc's CPU backend (``NumpyOps``) multiplies matrices with the BLIS library it bundles, on one thread.
numpy's own BLAS (OpenBLAS in the numpy wheels) uses every core: on this project's 2-core benchmark machine
a ``[4300 x 1120] x [1120 x 288]`` product, the size of a training step's mixing layer, took 94 ms with
thinc's BLIS against 18 ms through numpy (``benchmarks/README.md``), and a training step of spaCy's ``ner``
on the Flair layer about half the time. thinc itself offers the switch (``NumpyOps(use_blis=False)``);
this module applies it to one pipeline, not to the process:

    [nlp.after_pipeline_creation]
    @callbacks = "clinical_flair.blas_ops.v1"

moves every model node of the pipeline's components that runs on thinc's plain CPU ops onto
``NumpyOps(use_blis=False)``. GPU ops (``CupyOps``) and other backends (Apple's, big-endian) are left
alone, and so is thinc's global default (``get_current_ops()``): other pipelines in the same process are
not touched. The numbers computed are the same matrix products (float32 rounding may differ in the last
bits); threads: numpy's BLAS follows ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from thinc.api import NumpyOps

from .pipeline_models import pipeline_nodes

if TYPE_CHECKING:
    from spacy.language import Language


def use_blas_ops(nlp: "Language") -> int:
    """Move the thinc models of ``nlp``'s components from BLIS to numpy's BLAS; returns the nodes moved."""
    blas_ops = NumpyOps(use_blis=False)
    moved = 0
    for node in pipeline_nodes(nlp):
        if type(node.ops) is NumpyOps and getattr(node.ops, "use_blis", False):
            node.ops = blas_ops
            moved += 1
    return moved


def make_blas_ops(enabled: bool = True) -> Callable[["Language"], "Language"]:
    """``[nlp.after_pipeline_creation]`` callback: :func:`use_blas_ops` on the new pipeline (``enabled =
    false`` keeps thinc's BLIS)."""
    def blas_ops(nlp: "Language") -> "Language":
        if enabled:
            use_blas_ops(nlp)
        return nlp

    return blas_ops
