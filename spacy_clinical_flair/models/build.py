"""Building Flair models from local parts only (never a model hub).

Character dictionaries, forward/backward character language models and BiLSTM-CRF sequence
taggers over their stacked Flair embeddings. Used by the training code, the benchmarks and the
tests (which build tiny models on the fly).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, List, Optional, Sequence

if TYPE_CHECKING:
    from flair.data import Dictionary
    from flair.models import LanguageModel, SequenceTagger

#: Characters every character dictionary gets, whatever the corpus (so unseen text still maps).
BASE_CHARACTERS = " \n" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:-()/%"


def character_dictionary(texts: Iterable[str] = (), min_count: int = 1) -> "Dictionary":
    """A Flair character dictionary with ``<unk>``, the base characters and those of ``texts``.

    Characters seen fewer than ``min_count`` times in ``texts`` are left out (they map to ``<unk>``,
    which then gets trained on them, so characters a later corpus brings are not random inputs).
    """
    from collections import Counter

    from flair.data import Dictionary

    counts: Counter = Counter()
    for text in texts:
        counts.update(text)
    dictionary = Dictionary(add_unk=True)
    for char in BASE_CHARACTERS:
        dictionary.add_item(char)
    for char, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if count >= min_count:
            dictionary.add_item(char)
    return dictionary


def build_language_model(
    dictionary: "Dictionary", is_forward: bool, hidden_size: int = 256, nlayers: int = 1,
    embedding_size: int = 100, dropout: float = 0.1,
) -> "LanguageModel":
    """A randomly initialised Flair character LSTM language model."""
    from flair.models import LanguageModel

    return LanguageModel(dictionary, is_forward_lm=is_forward, hidden_size=hidden_size, nlayers=nlayers,
                         embedding_size=embedding_size, dropout=dropout)


def build_tagger(
    labels: Sequence[str], language_models: Sequence["LanguageModel"], hidden_size: int = 256,
    tag_type: str = "ner", use_crf: bool = True, extra_embeddings: Optional[List] = None,
    word_dropout: float = 0.05, locked_dropout: float = 0.5, rnn_layers: int = 1, tag_format: str = "BIOES",
    reproject_embeddings: bool = True,
) -> "SequenceTagger":
    """A BiLSTM(-CRF) SequenceTagger over stacked Flair embeddings of ``language_models``.

    ``labels`` are entity types without prefixes; the tagger predicts them as ``tag_format`` tags
    (``BIOES``, or ``BIO``: half the tags, which makes the CRF cheaper).
    One-hot word embeddings always go last in the stack: Flair's ``StackedEmbeddings`` prefixes each
    member's name with its position ("0-one-hot-text"), a saved ``OneHotEmbeddings`` comes back without
    it ("one-hot-text"), and token vectors are concatenated in name order. Anywhere but last, the one-hot
    part changes places after loading and the tagger reads scrambled inputs (F1 0 on MEDDOCAN); last, its
    unprefixed name still sorts last.
    """
    from flair.data import Dictionary
    from flair.embeddings import FlairEmbeddings, OneHotEmbeddings, StackedEmbeddings
    from flair.models import SequenceTagger

    tag_dictionary = Dictionary(add_unk=False)
    for label in labels:
        tag_dictionary.add_item(label)
    tag_dictionary.span_labels = True  # so the tagger encodes the labels as BIOES tags
    embeddings = [FlairEmbeddings(lm) for lm in language_models] + list(extra_embeddings or [])
    embeddings.sort(key=lambda embedding: isinstance(embedding, OneHotEmbeddings))  # stable: others keep order
    stacked = embeddings[0] if len(embeddings) == 1 else StackedEmbeddings(embeddings)
    return SequenceTagger(hidden_size=hidden_size, embeddings=stacked, tag_dictionary=tag_dictionary,
                          tag_type=tag_type, tag_format=tag_format, use_crf=use_crf, rnn_layers=rnn_layers,
                          word_dropout=word_dropout, locked_dropout=locked_dropout,
                          reproject_embeddings=reproject_embeddings)
