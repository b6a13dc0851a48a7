"""Flair's contextual string embeddings as a thinc layer, so that ``spacy train`` can put spaCy's own
``ner`` (or ``spancat``, or any component with a ``tok2vec``) on top of frozen character LMs.

Registered architectures:

* ``clinical_flair.FlairVectors.v1``: ``List[Doc] -> List[Floats2d]``, one row per spaCy token (whitespace
  tokens: zeros), the forward and backward LM states side by side, computed as Flair's
  ``FlairEmbeddings`` computes them (:mod:`spacy_clinical_flair.ml.lm_vectors`). The LMs are frozen: no
  gradient reaches them and the optimizer never sees them. Vectors computed while training are kept
  (up to ``cache_mb``) and reused in every later epoch.
* ``clinical_flair.FlairEmbed.v1``: an ``embed`` layer for ``spacy.Tok2Vec.v2``: the Flair vectors (with
  their own dropout) concatenated with spaCy's hash embeddings (``features``, e.g. ``spacy.MultiHashEmbed.v2``),
  mixed down to ``width`` by a Maxout layer.

The LMs are read from their files by ``initialize()`` only; afterwards they live inside the pipeline
(as safetensors + JSON, :mod:`spacy_clinical_flair.models.lm_io`), so ``spacy.load`` of a saved pipeline needs
no LM file and unpickles nothing.

The callback ``clinical_flair.precompute_vectors.v1`` (``[initialize.after_init]``) fills the cache for
the training and development corpora in length-sorted batches before the first epoch.
"""
from __future__ import annotations

import copy
import time
import weakref
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple, cast

import numpy
from spacy.tokens import Doc
from thinc.api import LayerNorm, Linear, Model, chain, concatenate, glorot_uniform_init, with_array, zero_init
from thinc.layers import maxout as thinc_maxout
from thinc.shims import Shim
from thinc.types import Floats2d
from thinc.util import partial

from ..models.lm_io import load_language_model
from .cpu_ops import use_blas_ops
from .flair_layer_io import layer_from_bytes, layer_to_bytes
from .lm_vectors import Context, VectorCache, VectorSettings, doc_key, doc_vectors
from .pipeline_models import pipeline_nodes
from .precision import check_engine, check_precision, effective_precision, lm_at_precision
from .shared_vectors import borrow, fingerprint, lend, role_of

if TYPE_CHECKING:
    from flair.models import LanguageModel
    from spacy.language import Language

VECTORS_NAME = "flair_vectors"
EMBED_NAME = "flair_embed"
DROPOUT_NAME = "flair_dropout"


class FlairLMShim(Shim):
    """Holds the frozen LMs (in ``lms``) and the vector cache of one ``FlairVectors`` layer.

    Serialised as msgpack of safetensors blobs (one per LM, JSON config in its header) and, with engine "onnx",
    the ONNX graphs it predicts with (checked by :func:`~.onnx_lm.check_graph` when loaded). The cache is never
    serialised.

    Why not thinc's ``PyTorchShim`` (as spacy-transformers' ``HFShim`` is one, overriding serialisation
    only): what it would bring is for trained torch modules, and none of it fits frozen LMs behind a
    cache. Its ``__call__``/``begin_update`` run the module per batch and back-propagate (here the vectors
    come from a cache filled once, and nothing is trained); its ``finish_update`` steps an optimizer over
    the parameters (there are none to step: ``finish_update`` does nothing); its ``to_device`` moves one
    module eagerly (here the LMs follow thinc's current device lazily, with their bfloat16 copies); its
    ``copy`` deep-copies the whole shim, vector cache included (gigabytes while training: ``copy`` here
    copies the LMs and starts an empty cache); and its ``to_bytes``/``from_bytes`` are ``torch.save`` /
    ``torch.load`` of pickles, which a pipeline from elsewhere must never be loaded with (here: safetensors).
    """

    def __init__(self, settings: VectorSettings, cache_mb: float, precision: str = "fp32",
                 training_precision: str = "fp32", engine: str = "torch") -> None:
        super().__init__(None, config={"settings": settings, "cache_mb": cache_mb})
        #: what computes the vectors outside training: "torch", or "onnx" (ONNX Runtime on the CPU, graphs
        #: made from the LMs at first use: :mod:`spacy_clinical_flair.ml.onnx_lm`)
        self.engine = check_engine(engine, precision)
        self.settings = settings
        self.cache = VectorCache(cache_mb)
        #: store every computed vector (training); off at inference, where each document comes once
        self.caching = False
        #: precision of prediction: see :mod:`spacy_clinical_flair.ml.precision`; "int8" with the onnx engine
        self.precision = precision
        #: precision of the vectors computed for training (precomputed and cached): "fp32", "bf16", or "auto"
        #: (bf16 where the hardware has it, else fp32, without a warning)
        self.training_precision = _check_training_precision(training_precision)
        #: the LMs' copies at a precision other than fp32, by the precision asked for (made once, shared by
        #: prediction and training)
        self._copies: Dict[str, List["LanguageModel"]] = {}
        #: ONNX graphs of the LMs read with them (a pipeline saved with engine "onnx"), used by engine "onnx"
        self.stored_graphs: List[bytes] = []
        #: the pipeline's Flair layers, when they share vectors (:mod:`.shared_vectors`); None: no sharing
        self.share_group: Optional[Callable[[], List["FlairLMShim"]]] = None
        self._fingerprint: Optional[str] = None

    @property
    def lms(self) -> List["LanguageModel"]:
        return self._model or []

    def set_lms(self, lms: Sequence["LanguageModel"]) -> None:
        import torch

        for lm in lms:
            lm.eval()
            for parameter in lm.parameters():
                parameter.requires_grad_(False)
        self._model = list(lms)
        self.cache.clear()
        self._device: Optional[torch.device] = None
        self._copies = {}
        self.stored_graphs = []
        self._fingerprint = None

    def lm_fingerprint(self) -> str:
        """The LMs' :func:`.shared_vectors.fingerprint`, computed once."""
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self.lms)
        return self._fingerprint

    def share_key(self) -> str:
        """What decides this layer's prediction vectors: its LMs, settings, engine and precision."""
        return f"{self.lm_fingerprint()}|{self.settings!r}|{self.engine}|{self.precision}"

    def set_precision(self, precision: str) -> None:
        """Compute vectors outside training at ``precision`` ("fp32" or "bf16"; "int8" with the onnx engine)."""
        check_engine(self.engine, precision)
        self.precision = precision
        self._copies = {}  # made again on first use, the hardware checked again
        self.stored_graphs = []

    def set_engine(self, engine: str, precision: Optional[str] = None) -> None:
        """Compute vectors outside training with ``engine`` ("torch" or "onnx") at ``precision`` (default: as set)."""
        precision = precision or self.precision
        self.engine = check_engine(engine, precision)
        self.precision = precision
        self._copies = {}
        self.stored_graphs = []

    def prediction_lms(self) -> List["LanguageModel"]:
        """The LMs that compute vectors outside training: ``lms``, their copies at ``precision``, or ONNX
        Runtime graphs of them (engine "onnx", on the CPU)."""
        if self.engine == "onnx":
            key = f"onnx-{self.precision}"
            if key not in self._copies:
                from .onnx_lm import onnx_lm_from

                stored: List[Optional[bytes]] = list(self.stored_graphs) or [None] * len(self.lms)
                # an OnnxLM answers what batch_states asks of a LanguageModel
                self._copies[key] = cast(List["LanguageModel"], [
                    onnx_lm_from(lm, self.precision, graph, f"the Flair vectors layer's ONNX graph of LM {i}")
                    for i, (lm, graph) in enumerate(zip(self.lms, stored))])
            return self._copies[key]
        return self._lms_at(self.precision)

    def training_lms(self) -> List["LanguageModel"]:
        """The LMs that compute the vectors training reads: ``lms``, or their bfloat16 copies when
        ``training_precision`` asks for it and the hardware has it."""
        wanted = self.training_precision
        if wanted == "auto":
            import torch

            from .precision import bf16_supported

            wanted = "bf16" if bf16_supported(self._device or torch.device("cpu")) else "fp32"
        return self._lms_at(wanted)

    def _lms_at(self, precision: str) -> List["LanguageModel"]:
        """``lms`` for fp32, else their copies at ``precision`` (fp32 with a warning, once, where the hardware
        lacks it), made on the first call."""
        if precision == "fp32":
            return self.lms
        if precision not in self._copies:
            effective = effective_precision(precision, self._device, "the Flair vectors layer")
            self._copies[precision] = [lm_at_precision(lm, effective) for lm in self.lms]
        return self._copies[precision]

    @property
    def width(self) -> int:
        return sum(lm.nout or lm.hidden_size for lm in self.lms)

    def vectors(self, docs: Sequence[Doc], store: bool) -> List[numpy.ndarray]:
        """Each Doc's vectors, from the cache where present; new ones are cached when ``store``."""
        self._move_to_thinc_device()
        keys = [doc_key(doc) for doc in docs] if (store or len(self.cache)) else [b""] * len(docs)
        found: List[Optional[numpy.ndarray]] = [self.cache.get(key) if key else None for key in keys]
        role = role_of(self, self.share_group()) if self.share_group is not None and not store else None
        if role is not None and role.position > 0:
            found = [vectors if vectors is not None else borrow(doc, role.fingerprint) for doc, vectors in zip(docs, found)]
        missing = [i for i, vectors in enumerate(found) if vectors is None]
        if missing:
            lms = self.training_lms() if store else self.prediction_lms()
            computed = doc_vectors(lms, [docs[i] for i in missing], self.settings)
            for i, vectors in zip(missing, computed):
                found[i] = vectors
                if store:
                    self.cache.put(keys[i], vectors)
        if role is not None and role.lends:
            for doc, lent in zip(docs, found):
                lend(doc, role.fingerprint, cast(numpy.ndarray, lent), role.size - 1)
        return found  # type: ignore[return-value]

    def precompute(self, docs: Sequence[Doc], group_docs: int = 200,
                   progress: Optional[Callable[[int], None]] = None) -> int:
        """Compute and cache the vectors of ``docs``, shortest first; stops when the cache is full.

        Returns how many documents are cached. ``progress`` is called with each group's size.
        """
        self._move_to_thinc_device()
        todo: Dict[bytes, Doc] = {}
        for doc in docs:
            key = doc_key(doc)
            if key not in self.cache.entries:
                todo[key] = doc
        ordered = sorted(todo.items(), key=lambda item: len(item[1].text))
        for start in range(0, len(ordered), group_docs):
            group = ordered[start:start + group_docs]
            for (key, _), vectors in zip(group, doc_vectors(self.training_lms(), [doc for _, doc in group],
                                                            self.settings)):
                if not self.cache.put(key, vectors):
                    return len(self.cache)
            if progress:
                progress(len(group))
        return len(self.cache)

    def _move_to_thinc_device(self) -> None:
        """Run the LMs where thinc runs (the GPU after ``spacy.require_gpu()``, else the CPU)."""
        from thinc.api import get_torch_default_device

        device = get_torch_default_device()
        if getattr(self, "_device", None) != device:
            for lm in self.lms:
                lm.to(device)
            self._device = device
            self._copies = {}

    # thinc's Shim interface: the LMs are frozen, so there is nothing to update
    def __call__(self, inputs, is_train: bool):
        raise NotImplementedError("FlairLMShim is called through FlairVectors, not directly")

    def finish_update(self, optimizer) -> None:
        return None

    def to_device(self, device_type: str, device_id: int) -> None:
        self._device = None  # re-resolved from thinc's current ops at the next call

    def copy(self) -> "FlairLMShim":
        duplicate = FlairLMShim(self.settings, self.cache.max_bytes / 1024 / 1024, self.precision,
                                self.training_precision, self.engine)
        duplicate.set_lms([copy.deepcopy(lm) for lm in self.lms])
        return duplicate

    def to_bytes(self) -> bytes:
        return layer_to_bytes(self)

    def from_bytes(self, data: bytes) -> "FlairLMShim":
        layer_from_bytes(self, data)
        return self


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    shim = cast(FlairLMShim, model.shims[0])
    if not shim.lms:
        raise ValueError("the Flair vectors layer has no language models: call nlp.initialize() (spacy train "
                         "does) with lm_forward/lm_backward set, or load a saved pipeline")
    vectors = shim.vectors(docs, store=is_train or shim.caching)
    outputs = [model.ops.asarray2f(array) for array in vectors]  # type: ignore[arg-type]

    def backprop(d_outputs: List[Floats2d]) -> List:
        return []  # frozen LMs: no gradient, and Docs take none

    return outputs, backprop


def _init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    shim = cast(FlairLMShim, model.shims[0])
    if not shim.lms:
        paths = [path for path in model.attrs["lm_paths"] if path]
        if not paths:
            raise ValueError("clinical_flair.FlairVectors.v1 has no language model: set lm_forward and/or "
                             "lm_backward to LM files (.safetensors or Flair .pt), e.g. assets/lms/")
        shim.set_lms([load_language_model(path, has_decoder=False) for path in paths])
    model.set_dim("nO", shim.width)


def FlairVectors(
    lm_forward: Optional[str], lm_backward: Optional[str], context: Context = "document", tokenized: bool = False,
    with_whitespace: bool = False, cache_mb: float = 4096, batch_chars: int = 100_000, precision: str = "fp32",
    training_precision: str = "fp32", engine: str = "torch",
) -> Model[List[Doc], List[Floats2d]]:
    """Frozen forward/backward character-LM vectors for every token (see the module docstring).

    ``lm_forward``/``lm_backward``: LM files, read by ``initialize()`` only (``null`` leaves one out).
    ``context``: one LM pass per ``"document"`` or per ``"sentence"``; ``tokenized``/``with_whitespace``:
    Flair's options of those names; ``cache_mb``: the most memory kept for vectors computed in training;
    ``precision``: "fp32", or "bf16" for prediction where the hardware has it (training stays fp32; see
    :mod:`spacy_clinical_flair.ml.precision`, whose ``set_precision`` changes it on a loaded pipeline);
    ``training_precision``: the precision of the vectors computed for training ("fp32", "bf16", or "auto":
    bf16 where the hardware has it), which the frozen LMs compute once per document before training;
    ``engine``: "torch", or "onnx" for prediction with ONNX Runtime on the CPU (the ``onnx`` extra), at
    ``precision`` "fp32" (the same vectors to 1e-5) or "int8" (int8 LSTM weights; training stays torch).
    """
    if context not in ("document", "sentence"):
        raise ValueError(f"context must be 'document' or 'sentence', not {context!r}")
    settings = VectorSettings(context=context, tokenized=tokenized, with_whitespace=with_whitespace,
                              batch_chars=batch_chars)
    return Model(VECTORS_NAME, _forward, init=_init, dims={"nO": None},
                 attrs={"lm_paths": [lm_forward or "", lm_backward or ""]},
                 shims=[FlairLMShim(settings, cache_mb, precision, training_precision, engine)])


def _check_training_precision(precision: str) -> str:
    if precision == "auto":
        return precision
    return check_precision(precision)


def _dropout_forward(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    rate = model.attrs["flair_dropout_rate"]
    if not is_train or rate <= 0:
        return X, lambda dY: dY
    mask = model.ops.get_dropout_mask(X.shape, rate)
    return X * mask, lambda dY: dY * mask


def FlairDropout(rate: float) -> Model[Floats2d, Floats2d]:
    """Dropout on the LM vectors with a rate of its own (spaCy's ``[training] dropout`` sets only ``dropout_rate``)."""
    return Model(DROPOUT_NAME, _dropout_forward, attrs={"flair_dropout_rate": rate})


def _mix_forward(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    """thinc's Maxout forward; its backprop returns the input gradient of the first ``trainable_columns``
    columns only (zeros for the rest): the columns after them are the frozen LM vectors, whose gradient
    nobody reads, and computing it was a third of the mixing layer's cost."""
    nO, nP, nI = model.get_dim("nO"), model.get_dim("nP"), model.get_dim("nI")
    W = model.ops.reshape2f(model.get_param("W"), nO * nP, nI)
    Y = model.ops.gemm(X, W, trans2=True)
    Y += model.ops.reshape1f(model.get_param("b"), nO * nP)
    best, which = model.ops.maxout(model.ops.reshape3f(Y, Y.shape[0], nO, nP))

    def backprop(d_best: Floats2d) -> Floats2d:
        dZ = model.ops.backprop_maxout(d_best, which, nP)
        model.inc_grad("b", dZ.sum(axis=0))  # type: ignore[call-overload]
        dY = model.ops.reshape2f(dZ, dZ.shape[0], nO * nP)
        model.inc_grad("W", model.ops.reshape3f(model.ops.gemm(dY, X, trans1=True), nO, nP, nI))
        trainable = min(model.attrs.get("trainable_columns", nI), nI)
        if trainable == nI:
            return model.ops.gemm(dY, W)
        dX = model.ops.alloc2f(X.shape[0], nI)
        if trainable:
            dX[:, :trainable] = model.ops.gemm(dY, model.ops.as_contig(W[:, :trainable]))
        return dX

    return best, backprop


def _mix_init(frozen: Optional[Model], model: Model, X: Optional[Floats2d] = None, Y=None) -> None:
    thinc_maxout.init(glorot_uniform_init, zero_init, model, X, Y)
    if frozen is not None:  # the last columns are the frozen layer's output (saved with the attrs)
        model.attrs["trainable_columns"] = model.get_dim("nI") - frozen.get_dim("nO")


def FlairMix(width: int, frozen: Optional[Model] = None) -> Model[Floats2d, Floats2d]:
    """thinc's ``Maxout(width, nP=3, normalize=True)`` (same nodes and parameters: pipelines saved before it
    existed load unchanged) whose backprop skips the input gradient of its last columns, the output of
    ``frozen`` (a layer nothing trains)."""
    maxout: Model = Model("maxout", _mix_forward, init=partial(_mix_init, frozen),
                   dims={"nO": width, "nI": None, "nP": 3}, params={"W": None, "b": None})
    return chain(maxout, LayerNorm(nI=width))


def FlairEmbed(
    width: int, vectors: Model[List[Doc], List[Floats2d]], features: Optional[Model[List[Doc], List[Floats2d]]] = None,
    dropout: float = 0.0, projection: int = 0,
) -> Model[List[Doc], List[Floats2d]]:
    """An ``embed`` layer for ``spacy.Tok2Vec.v2``: Flair ``vectors`` (dropout ``dropout`` in training;
    with ``projection`` > 0 first mapped linearly to that many dimensions, which makes each step cheaper)
    concatenated with ``features`` (e.g. ``spacy.MultiHashEmbed.v2``; ``null``: the LM vectors alone),
    mixed to ``width`` by Maxout (3 pieces, layer-normalised), as spaCy mixes its own embeddings.
    The frozen LM vectors get no gradient from the mixing layer (only ``features`` and the projection do)."""
    flair: Model = chain(vectors, with_array(FlairDropout(dropout)))
    if projection > 0:
        flair = chain(flair, with_array(Linear(projection)))
    inputs = concatenate(features, flair) if features is not None else flair
    model: Model = chain(inputs, with_array(FlairMix(width, frozen=vectors if projection <= 0 else None)))
    model.name = EMBED_NAME
    model.set_dim("nO", width)
    return model


def flair_shims(nlp: "Language") -> List[FlairLMShim]:
    """The shims of every FlairVectors layer in the pipeline's components."""
    shims: List[FlairLMShim] = []
    for node in pipeline_nodes(nlp):
        if node.name == VECTORS_NAME and node.shims and node.shims[0] not in shims:
            shims.append(cast(FlairLMShim, node.shims[0]))
    return shims


def make_share_lm_vectors(blas_ops: bool = False) -> Callable[["Language"], "Language"]:
    """spaCy callback (``after_pipeline_creation``): the pipeline's Flair layers share vectors where their LMs are
    the same. Roles are settled at the first prediction, once the weights are loaded. ``blas_ops``: also move the
    pipeline's thinc models to numpy's BLAS, as ``clinical_flair.blas_ops.v1`` does for the trained pipelines (the
    config has one ``after_pipeline_creation`` slot), so that an assembled pipeline computes what its members did."""
    def share(nlp: "Language") -> "Language":
        pipeline = weakref.ref(nlp)
        for shim in flair_shims(nlp):
            shim.share_group = lambda pipeline=pipeline: flair_shims(pipeline()) if pipeline() is not None else []
        if blas_ops:
            use_blas_ops(nlp)
        return nlp

    return share


def make_precompute_vectors(corpora: Sequence[str] = ("train_corpus", "dev_corpus")) -> Callable[["Language"], "Language"]:
    """``[initialize.after_init]`` callback: compute the Flair vectors of the training and development
    documents once, shortest first, before training, and keep caching during training.

    ``corpora`` names keys of ``[training]`` that point at corpus readers (spaCy's ``train_corpus`` and
    ``dev_corpus``). Outside ``spacy train`` (no ``[training]`` corpora) it does nothing.
    """
    def precompute(nlp: "Language") -> "Language":
        from spacy.util import resolve_dot_names
        from tqdm import tqdm
        from wasabi import msg

        shims = flair_shims(nlp)
        if not shims:
            return nlp
        config = nlp.config.interpolate()
        names = [config.get("training", {}).get(key) for key in corpora]
        names = [name for name in names if name]
        try:
            readers = resolve_dot_names(config, names) if names else []
        except Exception as err:  # e.g. spacy assemble: corpora paths not set
            msg.warn(f"Flair vectors not precomputed: the corpora could not be read ({err})")
            return nlp
        docs = [example.predicted for reader in readers for example in reader(nlp)]
        started = time.perf_counter()
        for shim in shims:
            shim.caching = True
            with tqdm(total=len(docs), desc="Flair vectors", unit="doc", leave=False) as bar:
                cached = shim.precompute(docs, progress=bar.update)
            size = shim.cache.bytes / 1024 / 1024
            msg.info(f"Flair vectors of {cached} of {len(docs)} documents computed and cached ({size:.0f} MB, "
                     f"{time.perf_counter() - started:.0f} s)"
                     + ("" if cached >= len(docs) else "; the rest will be computed as needed (raise cache_mb)"))
        return nlp

    return precompute
