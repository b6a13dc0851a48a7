"""One LM pass per document for several Flair vectors layers that hold the same LMs (a pipeline of several heads).

A pipeline of several NER heads, each with its own spaCy layers on top of the same frozen character LMs (e.g. heads
sourced from single-type pipelines with ``replace_listeners``), would run the LMs, nearly all of its arithmetic,
once per head. With ``[nlp.after_pipeline_creation] @callbacks = "clinical_flair.share_lm_vectors.v1"`` the
Flair layers of the pipeline are grouped by :func:`fingerprint` (their LMs' weights and their vector settings):
in prediction, the first layer of a group (in pipeline order) lends the vectors it computes for a Doc to the
group's other layers, each of which takes them once; the last taking frees them. The vectors are exactly the ones
each layer would have computed (same LMs, same settings, same code), so sharing changes no prediction.

Loans are held beside the Doc in a weak mapping: nothing is written to the Doc (nothing reaches ``DocBin`` or
``to_disk``) and nothing outlives it. A layer that finds no loan (its lender disabled, or called alone) computes
its own vectors. Training does not share: each layer's vector cache serves it.
"""
from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

import numpy
from spacy.tokens import Doc

if TYPE_CHECKING:
    from flair.models import LanguageModel

#: Doc -> fingerprint -> [vectors, takings left]
_LOANS: "weakref.WeakKeyDictionary[Doc, Dict[str, List]]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ShareRole:
    """A layer's place in its group: ``position`` 0 lends to the ``size - 1`` others, which borrow."""

    fingerprint: str
    position: int
    size: int

    @property
    def lends(self) -> bool:
        return self.position == 0 and self.size > 1


def fingerprint(lms: Sequence["LanguageModel"]) -> str:
    """A digest of the LMs' direction, dictionary and weights (names, shapes, values): with the same vector settings,
    engine and precision, equal fingerprints mean equal vectors for every Doc."""
    digest = hashlib.blake2b(digest_size=16)
    for lm in lms:
        digest.update(f"{lm.is_forward_lm}|{''.join(lm.dictionary.get_items())}".encode())
        for name, tensor in sorted(lm.state_dict().items()):
            array = tensor.detach().to("cpu").float().numpy()
            digest.update(f"{name}{array.shape}".encode())
            digest.update(numpy.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def lend(doc: Doc, key: str, vectors: numpy.ndarray, borrowers: int) -> None:
    """Keep ``vectors`` beside ``doc`` for ``borrowers`` takings."""
    if borrowers > 0:
        _LOANS.setdefault(doc, {})[key] = [vectors, borrowers]


def borrow(doc: Doc, key: str) -> Optional[numpy.ndarray]:
    """The vectors lent for ``doc`` under ``key`` (freed at the last taking), or None."""
    loans = _LOANS.get(doc)
    if not loans or key not in loans:
        return None
    loan = loans[key]
    loan[1] -= 1
    if loan[1] <= 0:
        del loans[key]
        if not loans:
            del _LOANS[doc]
    return loan[0]


def outstanding() -> int:
    """How many loans are held (for tests and memory checks)."""
    return sum(len(loans) for loans in _LOANS.values())


def role_of(shim: object, group: Sequence) -> Optional[ShareRole]:
    """``shim``'s :class:`ShareRole` among the shims of ``group`` (in pipeline order) that have its
    ``share_key()``; None when it is not in the group."""
    if not any(other is shim for other in group):
        return None
    key = shim.share_key()  # type: ignore[attr-defined]
    same = [other for other in group if other is shim or other.share_key() == key]
    return ShareRole(key, next(i for i, other in enumerate(same) if other is shim), len(same))
