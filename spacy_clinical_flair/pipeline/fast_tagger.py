"""Tagging spaCy sentences with a Flair SequenceTagger without building Flair objects per token.

Flair's ``SequenceTagger.predict`` makes a ``Sentence`` and ``Token`` objects per sentence, stores two
embedding tensors on every token, concatenates them back into a padded batch, and pads every
character sequence of a mini-batch to the longest one, with sentences sorted by tokens, not
characters. :class:`FastTagger` computes the same thing more directly, for the taggers this package
trains (a stack of Flair character LMs, optionally with one-hot word embeddings, span labels):

1. each sentence is written as Flair's ``FlairEmbeddings`` writes it (:func:`lm_vectors.token_unit`);
2. sentences are sorted by characters (what the LMs pay for) and cut into mini-batches;
3. each LM's states at the token positions (:func:`lm_vectors.batch_states`) go straight into the
   padded batch (beside the one-hot word vectors, looked up as Flair looks them up), in Flair's order
   (embedding names sorted), and through the tagger's own ``forward``
   and its Viterbi decoder (or softmax); tags become spans by Flair's ``get_spans_from_bio``.

The result is Flair's prediction: the same network on the same inputs (the tests compare them on
texts with double spaces, line breaks and long sentences). ``precision="bf16"`` runs the character
LMs (almost all the arithmetic) in bfloat16 on a copy of their weights; the tagger itself, the CRF and
the saved weights stay float32 (:mod:`spacy_clinical_flair.ml.precision`).

Taggers with other embeddings (character BiLSTM, transformers, one-hot embeddings of tags), lower-cased LMs or
token-level labels are not handled here: :func:`fast_path_problem` says why, and the component then
uses Flair's own ``predict``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple, Union, cast

from ..ml.lm_vectors import TextUnit, VectorSettings, batch_states, token_unit
from ..ml.precision import check_engine, lm_at_precision
from ..models.flair_data import SentenceTokens
from .ensemble import Prediction

if TYPE_CHECKING:
    import torch
    from flair.embeddings import OneHotEmbeddings
    from flair.models import LanguageModel, SequenceTagger

    from ..ml.onnx_tagger import TaggerGraphs


def embedding_stack(tagger: "SequenceTagger") -> List:
    """The tagger's embeddings: the members of its StackedEmbeddings, or its one embedding."""
    from flair.embeddings import StackedEmbeddings

    embeddings = tagger.embeddings
    return list(embeddings.embeddings) if isinstance(embeddings, StackedEmbeddings) else [embeddings]


def fast_path_problem(tagger: "SequenceTagger") -> Optional[str]:
    """None when :class:`FastTagger` can predict for ``tagger``, else why not (in words)."""
    from flair.embeddings import FlairEmbeddings, OneHotEmbeddings

    members = embedding_stack(tagger)
    for member in members:
        if isinstance(member, OneHotEmbeddings) and member.field == "text":
            continue
        if not isinstance(member, FlairEmbeddings):
            return f"its embeddings include {type(member).__name__}" + (
                f" of {member.field!r}" if isinstance(member, OneHotEmbeddings) else "")
        if member.is_lower:
            return "a character LM reads lower-cased text"
    if not any(isinstance(member, FlairEmbeddings) for member in members):
        return "it has no character LM"
    if not getattr(tagger, "predict_spans", False):
        return "it predicts token labels, not spans"
    return None


@dataclass
class LMMember:
    """One character LM of the tagger's embedding stack and how its text is written."""

    name: str
    lm: "LanguageModel"
    settings: VectorSettings

    def states(self, units: Sequence[TextUnit]) -> List["torch.Tensor"]:
        """Per unit, the LM's states at its tokens (``[tokens, hidden]``)."""
        return batch_states(self.lm, units, self.settings)


@dataclass
class WordMember:
    """One-hot word embeddings of the tagger's stack (Flair's ``OneHotEmbeddings`` of the token text)."""

    name: str
    embedding: "OneHotEmbeddings"

    def states(self, sentences: Sequence[SentenceTokens]) -> List["torch.Tensor"]:
        """Per sentence, ``[tokens, embedding length]``: each word's row, unknown words the ``<unk>`` row, as
        Flair looks them up."""
        return [self._vectors([s.doc[i].text for i in s.token_indices]) for s in sentences]

    def _vectors(self, words: Sequence[str]) -> "torch.Tensor":
        import torch

        layer = self.embedding.embedding_layer
        ids = [self.embedding.vocab_dictionary.get_idx_for_item(word) for word in words]
        return layer(torch.tensor(ids, dtype=torch.long, device=layer.weight.device)).float().cpu()


Member = Union[LMMember, WordMember]


class FastTagger:
    """Prediction of a Flair ``SequenceTagger`` over spaCy sentences (see the module doc).

    ``precision`` "bf16" makes bfloat16 copies of the LMs (the tagger's own LMs are left as they are, so
    saving the pipeline still writes float32). It runs as asked: choose it with
    :func:`spacy_clinical_flair.ml.precision.effective_precision` (on hardware without bfloat16 it is slower).
    """

    def __init__(self, tagger: "SequenceTagger", precision: str = "fp32", engine: str = "torch",
                 graphs: Optional["TaggerGraphs"] = None, what: str = "the tagger") -> None:
        """``graphs``: with engine "onnx", saved graphs of this tagger (checked against it; made from the weights
        when absent); ``what`` names the tagger in errors about them."""
        problem = fast_path_problem(tagger)
        if problem:
            raise ValueError(f"this tagger needs Flair's own predict: {problem}")
        self.tagger = tagger
        self.engine = check_engine(engine, precision)
        self.precision = precision
        # Flair concatenates a token's embeddings in the sorted order of their names
        embeddings = sorted(embedding_stack(tagger), key=lambda m: m.name)
        stored_lms = list(graphs.lms) if graphs else []
        if graphs and len(stored_lms) != sum(1 for e in embeddings if hasattr(e, "lm")):
            raise ValueError(f"{what} has {len(stored_lms)} saved ONNX LM graphs for "
                             f"{sum(1 for e in embeddings if hasattr(e, 'lm'))} character LMs; export it again")
        self.members: List[Member] = []
        for embedding in embeddings:
            self.members.append(self._member(embedding, stored_lms, what))
        #: engine "onnx": the tagger's network (reprojection, BiLSTM, emissions) run by ONNX Runtime
        self.network = None
        if engine == "onnx":
            from ..ml.onnx_tagger import onnx_tagger_network

            self.network = onnx_tagger_network(tagger, int8=precision == "int8", stored=graphs.network if graphs else None,
                                               what=f"{what}'s ONNX network graph")

    def _member(self, embedding, stored_lms: List[bytes], what: str) -> Member:
        """The member for one embedding; with engine "onnx", an LM takes the next of ``stored_lms`` if any."""
        from flair.embeddings import OneHotEmbeddings

        if isinstance(embedding, OneHotEmbeddings):
            return WordMember(embedding.name, embedding)
        lm: Any = lm_at_precision(embedding.lm, self.precision) if self.engine == "torch" else None
        if lm is None:  # onnx: an OnnxLM answers what batch_states asks of a LanguageModel
            from ..ml.onnx_lm import onnx_lm_from

            lm = onnx_lm_from(embedding.lm, self.precision, stored_lms.pop(0) if stored_lms else None,
                              f"{what}'s ONNX graph of LM {len(self.lm_members)} ({embedding.name})")
        return LMMember(embedding.name, lm, VectorSettings(
            tokenized=embedding.tokenized_lm, with_whitespace=embedding.with_whitespace,
            chars_per_chunk=embedding.chars_per_chunk))

    @property
    def lm_members(self) -> List[LMMember]:
        return [member for member in self.members if isinstance(member, LMMember)]

    def graphs(self) -> Optional["TaggerGraphs"]:
        """With engine "onnx", the ONNX graphs it runs (to save them); else None."""
        from ..ml.onnx_tagger import TaggerGraphs

        if self.network is None:
            return None
        return TaggerGraphs([cast(Any, member.lm).graph for member in self.lm_members], self.network.graph)

    def predict(self, sentences: Sequence[SentenceTokens], batch_size: int = 32) -> List[List[Prediction]]:
        """Entities of each sentence as ``(start_token, end_token, label, score)`` in Doc token indices."""
        import torch

        results: List[List[Prediction]] = [[] for _ in sentences]
        if not sentences:
            return results
        # the LM input text depends only on `tokenized`: written once per way of writing, not once per LM
        written = {tokenized: [token_unit(s.doc, i, s.token_indices, tokenized) for i, s in enumerate(sentences)]
                   for tokenized in {member.settings.tokenized for member in self.lm_members}}
        order = sorted(range(len(sentences)), key=lambda i: len(next(iter(written.values()))[i].text))
        with torch.inference_mode():
            for begin in range(0, len(order), batch_size):
                batch = order[begin:begin + batch_size]
                # per member, what it reads: the LM input texts, or the sentences' words
                inputs = [[(written[m.settings.tokenized] if isinstance(m, LMMember) else sentences)[i] for i in batch]
                          for m in self.members]
                for index, predictions in zip(batch, self._predict_batch(inputs)):
                    indices = sentences[index].token_indices
                    results[index] = [(indices[positions[0]], indices[positions[-1]] + 1, label, score)
                                      for positions, score, label in predictions]
        return results

    def _predict_batch(self, member_inputs: List[list]) -> List[List[Tuple[List[int], float, str]]]:
        """Flair's spans ``(token positions, score, label)`` for one mini-batch, in the batch's order.

        ``member_inputs``: per member, the batch's LM inputs (:class:`TextUnit`) or its sentences."""
        import torch
        from flair.data import get_spans_from_bio

        states = [member.states(inputs) for member, inputs in zip(self.members, member_inputs)]
        vectors = [torch.cat(parts, dim=1) for parts in zip(*states)]  # per sentence: [tokens, sum of member sizes]
        # the tagger packs its RNN input and decodes by position: longest sentence first, as Flair sorts
        by_length = sorted(range(len(vectors)), key=lambda i: -vectors[i].shape[0])
        lengths = [vectors[i].shape[0] for i in by_length]
        padded = torch.nn.utils.rnn.pad_sequence([vectors[i] for i in by_length], batch_first=True)
        features = self._scores(padded, lengths)
        if self.tagger.use_crf:
            tags, _ = self.tagger.viterbi_decoder.decode(features, False, [])
        else:
            tags, _ = self.tagger._standard_inference(features, [range(n) for n in lengths], False)  # type: ignore[misc]
        spans: List[List[Tuple[List[int], float, str]]] = [[] for _ in vectors]
        for row, i in enumerate(by_length):
            spans[i] = get_spans_from_bio([tag for tag, _ in tags[row]], [score for _, score in tags[row]])
        return spans

    def _scores(self, padded: "torch.Tensor", lengths: List[int]):
        """What ``SequenceTagger.forward`` returns for the padded batch: with PyTorch, or the emissions from ONNX
        Runtime put through the tagger's own CRF layer (its transitions added) or scores for softmax decoding."""
        import torch

        lengths_tensor = torch.LongTensor(lengths)
        if self.network is None:
            device = next(self.tagger.parameters()).device
            return self.tagger.forward(padded.to(device), lengths_tensor)
        emissions = self.network.emissions(padded, lengths)
        if self.tagger.use_crf:
            return self.tagger.crf(emissions), lengths_tensor, self.tagger.crf.transitions
        return self.tagger._get_scores_from_features(emissions, lengths_tensor)
