"""What a Flair vectors layer saves (``FlairLMShim.to_bytes``) and how it is read back, without pickle.

msgpack of a dict: ``"lms"``, the LMs as safetensors blobs (JSON config in each header; float16 where that loses
nothing: :func:`exact_in_half`); with engine "onnx",
``"onnx"``, the graphs it predicts with (checked by :func:`~.onnx_lm.check_graph` when loaded). A layer whose
LMs are those of an earlier layer of the same pipeline (heads sharing vectors, :mod:`.shared_vectors`) saves
``"same_lms_as"``, the LMs' fingerprint, instead of a second copy; loading the pipeline gives it the earlier
layer's LM objects (one copy in memory too).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, cast

import srsly

from ..models.lm_io import LMFileError, lm_from_bytes, lm_to_bytes


class FlairLMShim(Protocol):
    """What saving and loading need of a Flair vectors layer's shim (``flair_tok2vec.FlairLMShim``), named here so
    that this module does not import the layer back."""
    stored_graphs: List[bytes]

    @property
    def lms(self) -> Sequence[Any]: ...

    @property
    def engine(self) -> str: ...

    @property
    def share_group(self) -> Optional[Callable[[], Sequence["FlairLMShim"]]]: ...

    def lm_fingerprint(self) -> str: ...

    def prediction_lms(self) -> Sequence[Any]: ...

    def set_lms(self, lms: List[Any]) -> None: ...


WHAT = "the pipeline's Flair vectors layer"


def earlier_owner(shim: "FlairLMShim") -> Optional["FlairLMShim"]:
    """The first layer before ``shim`` in its sharing group with the same LMs (by fingerprint), or None."""
    if shim.share_group is None or not shim.lms:
        return None
    group = shim.share_group()
    before = group[:next((i for i, other in enumerate(group) if other is shim), 0)]
    own = shim.lm_fingerprint()
    return next((other for other in before if other.lms and other.lm_fingerprint() == own), None)


def layer_to_bytes(shim: "FlairLMShim") -> bytes:
    """The layer's LMs (or a reference to an earlier layer's identical LMs) and its ONNX graphs."""
    if not shim.lms:
        raise ValueError("the Flair vectors layer has no language models to save: initialize the pipeline "
                         "(nlp.initialize() or spacy train) before saving it")
    saved: Dict[str, Any] = {}
    if earlier_owner(shim) is not None:
        saved["same_lms_as"] = shim.lm_fingerprint()
    else:
        saved["lms"] = [lm_to_bytes(lm, half=exact_in_half(lm)) for lm in shim.lms]
    if shim.engine == "onnx":  # the graphs it predicts with, so that loading does not make them again
        saved["onnx"] = [cast(Any, lm).graph for lm in shim.prediction_lms()]
    return srsly.msgpack_dumps(saved)


def exact_in_half(lm: Any) -> bool:
    """Whether every weight of ``lm`` is a float16 value (LMs read from float16 files, as assets/lms ships them):
    then float16 storage gives back the same float32 weights, bit for bit, at half the size."""
    import torch

    return all(not tensor.is_floating_point() or torch.equal(tensor, tensor.half().to(tensor.dtype))
               for tensor in lm.state_dict().values())


def layer_from_bytes(shim: "FlairLMShim", data: bytes) -> None:
    """Restore what :func:`layer_to_bytes` saved into ``shim``; LMFileError for anything else."""
    try:
        saved = srsly.msgpack_loads(data)
        reference, graphs = saved.get("same_lms_as"), saved.get("onnx", [])
        blobs = saved["lms"] if reference is None else None
    except Exception as err:  # msgpack raises its own types on malformed input
        raise LMFileError(f"{WHAT} could not be read ({type(err).__name__}: {err}); save it again") from None
    lms = _shared_lms(shim, reference) if reference is not None else _own_lms(blobs)
    if not isinstance(graphs, list) or (graphs and len(graphs) != len(lms)) or \
            not all(isinstance(g, bytes) for g in graphs):
        raise LMFileError(f"{WHAT} holds ONNX graphs that do not match its {len(lms)} LMs; export it again")
    shim.set_lms(lms)
    shim.stored_graphs = graphs
    if shim.engine == "onnx":
        shim.prediction_lms()  # the saved graphs are checked now, at load time, not at the first document


def _own_lms(blobs: Any) -> List:
    if not isinstance(blobs, list) or not 1 <= len(blobs) <= 8 or not all(isinstance(b, bytes) for b in blobs):
        raise LMFileError(f"{WHAT} does not hold 1 to 8 language models; save it again")
    return [lm_from_bytes(blob, has_decoder=False, what=f"{WHAT}, LM {i}") for i, blob in enumerate(blobs)]


def _shared_lms(shim: "FlairLMShim", reference: Any) -> List:
    """The LMs of the earlier layer of the pipeline whose fingerprint is ``reference``."""
    group = shim.share_group() if shim.share_group is not None else []
    owner = next((other for other in group if other is not shim and other.lms
                  and other.lm_fingerprint() == reference), None)
    if owner is None:
        raise LMFileError(f"{WHAT} shares the LMs of another Flair layer of the same pipeline (fingerprint "
                          f"{str(reference)[:12]}...), which is not loaded before it: load the whole pipeline "
                          "(spacy.load), not one component of it")
    return list(owner.lms)
