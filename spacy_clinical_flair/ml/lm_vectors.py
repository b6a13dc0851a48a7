"""Contextual string embeddings for spaCy tokens, computed straight from Flair character LMs.

This is Flair's ``FlairEmbeddings`` computation (Akbik et al. 2018) without building Flair
``Sentence`` objects: each unit of text (the whole document, or each sentence) is written as
Flair writes it, run through the forward and the backward LM, and each token gets the forward
LM's state at its last character and the backward LM's state at its first character (or, with
``with_whitespace``, one character further, Flair's default). The result equals
``FlairEmbeddings(lm, tokenized_lm=tokenized, with_whitespace=with_whitespace)`` on a Flair
Sentence of the same tokens, built by :func:`spacy_clinical_flair.models.flair_data.to_flair_sentence`.

Whitespace tokens (``"\\n"``, ``"  "``) get zero vectors: Flair has no such tokens. Units are
length-sorted and batched under a character budget, and only the states at token positions
are kept, chunk by chunk, so memory stays bounded however long a document is.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Literal, Optional, Sequence, Tuple

import numpy
from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc

from ..text.sentences import sentencizer_for

if TYPE_CHECKING:
    import torch
    from flair.models import LanguageModel

Context = Literal["document", "sentence"]


@dataclass(frozen=True)
class VectorSettings:
    """How token vectors are read off the LMs (the Flair options of the same names) and batched."""

    #: "document": one LM pass over each whole document; "sentence": one per sentence (rule-based splitter)
    context: Context = "document"
    #: True: the LM reads the tokens joined by single spaces (Flair's ``tokenized_lm``); False: the text as
    #: written, every gap (spaces, line breaks) read as one space
    tokenized: bool = False
    #: True: the state one character after the token (Flair's default); False: at its last/first character
    with_whitespace: bool = False
    #: characters per batch (padded length x units): bounds the memory of one LM pass
    batch_chars: int = 100_000
    #: characters fed to the LM at a time; states are kept only at token positions
    chars_per_chunk: int = 512
    #: "sentence" context: longer sentences are cut into pieces of this many tokens
    max_sentence_tokens: int = 250


@dataclass
class TextUnit:
    """One LM input: the text as the LM reads it and, per token, where it starts and ends in that text."""

    doc_index: int
    token_indices: Tuple[int, ...]
    text: str
    starts: List[int]
    ends: List[int]


def text_units(doc: Doc, doc_index: int, settings: VectorSettings) -> List[TextUnit]:
    """The LM inputs of ``doc``: its non-whitespace tokens, as one unit or one per sentence."""
    indices = [token.i for token in doc if not token.is_space]
    if not indices:
        return []
    groups: List[List[int]] = []
    if settings.context == "document":
        groups = [indices]
    else:
        starts = sentencizer_for(doc.lang_).sentence_starts(doc)
        current: List[int] = []
        for i in indices:
            if starts[i] and current or len(current) >= settings.max_sentence_tokens:
                groups.append(current)
                current = []
            current.append(i)
        groups.append(current)
    return [token_unit(doc, doc_index, group, settings.tokenized) for group in groups]


def token_unit(doc: Doc, doc_index: int, indices: Sequence[int], tokenized: bool) -> TextUnit:
    """The LM input of the tokens ``indices`` of ``doc`` (non-whitespace tokens, in order), written as Flair
    writes a Sentence of them: joined by single spaces (``tokenized``) or by one space wherever the text has a gap."""
    parts, starts, ends, position = [], [], [], 0
    for n, i in enumerate(indices):
        token = doc[i]
        if n:
            # Flair: a single space between tokenized words; in plain text one space for any gap
            gap = tokenized or doc[indices[n - 1]].idx + len(doc[indices[n - 1]]) < token.idx
            if gap:
                parts.append(" ")
                position += 1
        starts.append(position)
        parts.append(token.text)
        position += len(token.text)
        ends.append(position)
    return TextUnit(doc_index, tuple(indices), "".join(parts), starts, ends)


def lm_states(lm: "LanguageModel", units: Sequence[TextUnit], settings: VectorSettings) -> List["torch.Tensor"]:
    """For each unit, the LM's states at its tokens (``[tokens, hidden]``), computed as FlairEmbeddings does."""

    order = sorted(range(len(units)), key=lambda u: len(units[u].text))
    results: List[Optional[torch.Tensor]] = [None] * len(units)
    for batch in _batches(order, units, settings.batch_chars):
        states = batch_states(lm, [units[u] for u in batch], settings)
        for u, state in zip(batch, states):
            results[u] = state
    return results  # type: ignore[return-value]


def _batches(order: Sequence[int], units: Sequence[TextUnit], batch_chars: int) -> List[List[int]]:
    batches: List[List[int]] = []
    current: List[int] = []
    for u in order:  # ascending length: the newest unit is the longest of its batch
        if current and (len(current) + 1) * (len(units[u].text) + 2) > batch_chars:
            batches.append(current)
            current = []
        current.append(u)
    if current:
        batches.append(current)
    return batches


#: character lengths of a batch are rounded up to a multiple of this (see :func:`padded_length`)
LENGTH_BUCKET = 8


def padded_length(longest: int) -> int:
    """The characters a batch is padded to: its longest input rounded up to a multiple of ``LENGTH_BUCKET``.

    oneDNN (PyTorch's CPU LSTM) builds and caches a kernel for every input shape it meets, up to 1,024 of
    them; with every batch a new length, a long stream fills that cache and the process grows by
    hundreds of MB. Rounding keeps the shapes few (at most 512 / 8 lengths per batch size) for about
    3 % more characters. The padding comes after every input, so no state at a token changes.
    """
    return -(-longest // LENGTH_BUCKET) * LENGTH_BUCKET


def batch_states(lm: "LanguageModel", units: Sequence[TextUnit], settings: VectorSettings) -> List["torch.Tensor"]:
    """Run one batch of units through ``lm`` and gather the float32 states at each token's position
    (``[tokens, hidden]`` per unit, on the CPU). Units are padded to the longest (rounded up by
    :func:`padded_length`), so a batch of similar lengths wastes least; the states do not depend on the
    other units of the batch."""
    import torch

    start_marker = getattr(lm, "document_delimiter", "\n")
    shift = 1 if settings.with_whitespace else 0
    padded, positions = [], []
    for unit in units:
        length = len(unit.text)
        if lm.is_forward_lm:
            padded.append(f"{start_marker}{unit.text} ")
            positions.append([end - 1 + len(start_marker) + shift for end in unit.ends])
        else:
            padded.append(f"{start_marker}{unit.text[::-1]} ")
            positions.append([length - 1 - start + len(start_marker) + shift for start in unit.starts])
    longest = padded_length(max(map(len, padded)))
    pad = lm.dictionary.get_idx_for_item(" ")
    ids = torch.tensor([lm.dictionary.get_idx_for_items(list(text)) + [pad] * (longest - len(text))
                        for text in padded], dtype=torch.long)
    device = lm_device(lm)
    ids = ids.t().contiguous().to(device)  # [characters, batch]
    # every token's (position, row in the flat output), in position order, for gathering chunk by chunk
    offsets = numpy.cumsum([0] + [len(unit.ends) for unit in units])
    wanted = sorted((p, int(offsets[b]) + k, b) for b, unit_positions in enumerate(positions)
                    for k, p in enumerate(unit_positions))
    flat = torch.empty(int(offsets[-1]), lm.nout or lm.hidden_size)
    hidden = lm.init_hidden(len(units))
    cursor = 0
    with torch.no_grad():
        for begin in range(0, longest, settings.chars_per_chunk):
            chunk = ids[begin:begin + settings.chars_per_chunk]
            output, hidden = lm.forward(chunk, hidden, decode=False)
            end = begin + chunk.shape[0]
            first = cursor
            while cursor < len(wanted) and wanted[cursor][0] < end:
                cursor += 1
            if cursor > first:
                picked = wanted[first:cursor]
                rows = torch.tensor([p - begin for p, _, _ in picked], device=device)
                cols = torch.tensor([b for _, _, b in picked], device=device)
                flat[torch.tensor([row for _, row, _ in picked])] = output[rows, cols].to("cpu", torch.float32)
    return [flat[offsets[b]:offsets[b + 1]] for b in range(len(units))]


def lm_device(lm: "LanguageModel") -> "torch.device":
    """Where ``lm`` computes: its weights' device (an :class:`~.onnx_lm.OnnxLM` says it itself: the CPU)."""
    device = getattr(lm, "device", None)
    return device if device is not None else next(lm.parameters()).device


def doc_vectors(lms: Sequence["LanguageModel"], docs: Sequence[Doc], settings: VectorSettings) -> List[numpy.ndarray]:
    """``[len(doc), sum of LM sizes]`` float32 arrays: each token's states of every LM side by side
    (in ``lms`` order, as Flair's ``StackedEmbeddings``); whitespace tokens are zero."""
    width = sum(lm.nout or lm.hidden_size for lm in lms)
    result = [numpy.zeros((len(doc), width), dtype="float32") for doc in docs]
    units = [unit for i, doc in enumerate(docs) for unit in text_units(doc, i, settings)]
    if not units:
        return result
    offset = 0
    for lm in lms:
        size = lm.nout or lm.hidden_size
        for unit, states in zip(units, lm_states(lm, units, settings)):
            result[unit.doc_index][list(unit.token_indices), offset:offset + size] = states.numpy()
        offset += size
    return result


def doc_key(doc: Doc) -> bytes:
    """A digest of a Doc's text and token boundaries: equal keys mean equal LM vectors."""
    digest = hashlib.blake2b(doc.text.encode("utf-8"), digest_size=16)
    digest.update(numpy.ascontiguousarray(doc.to_array([IDX, LENGTH])).tobytes())
    return digest.digest()


class VectorCache:
    """Computed vectors by :func:`doc_key`, up to ``max_mb`` megabytes (then nothing more is stored)."""

    def __init__(self, max_mb: float) -> None:
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.bytes = 0
        self.entries: Dict[bytes, numpy.ndarray] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: bytes) -> Optional[numpy.ndarray]:
        found = self.entries.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: bytes, vectors: numpy.ndarray) -> bool:
        """Store ``vectors`` unless that would pass the size limit; True when stored (or already there)."""
        if key in self.entries:
            return True
        if self.bytes + vectors.nbytes > self.max_bytes:
            return False
        self.entries[key] = vectors
        self.bytes += vectors.nbytes
        return True

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0
