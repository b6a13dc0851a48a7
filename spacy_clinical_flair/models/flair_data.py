"""spaCy Docs ⇄ Flair Sentences: the only module that knows both token models.

One Flair sentence per spaCy sentence. Flair sees the spaCy tokens one for one, except
whitespace-only tokens (``"\\n"``, ``"  "``), which Flair cannot represent and which carry no
entity; :class:`SentenceTokens` remembers which spaCy token each Flair token is, so that
predictions map back to exact character offsets.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span

from ..corpus.docs import PathLike
from ..text.sentences import sentencizer_for

if TYPE_CHECKING:  # flair is imported lazily: it takes seconds
    from flair.data import Sentence
    from flair.models import SequenceTagger

#: (first token, end token, label, score) of one predicted entity, in spaCy token indices.
Prediction = Tuple[int, int, str, float]

DEFAULT_TAG_TYPE = "ner"


@dataclass(frozen=True)
class SentenceTokens:
    """The spaCy tokens (Doc indices) that one Flair sentence is made of."""

    doc: Doc
    token_indices: Tuple[int, ...]


def sentence_bounds(doc: Doc) -> List[Tuple[int, int]]:
    """``(start, end)`` token indices of each sentence: ``doc.sents`` when set, else the rule-based
    splitter's boundaries, computed without writing them to ``doc``."""
    if doc.has_annotation("SENT_START"):
        return [(sent.start, sent.end) for sent in doc.sents]
    starts = [i for i, is_start in enumerate(sentencizer_for(doc.lang_).sentence_starts(doc)) if is_start]
    return list(zip(starts, starts[1:] + [len(doc)]))


def sentence_tokens(doc: Doc, max_tokens: Optional[int] = None) -> List[SentenceTokens]:
    """The non-whitespace tokens of each sentence of ``doc`` (sentences without any are skipped).

    With ``max_tokens``, a longer sentence is cut into consecutive pieces of at most that many
    tokens, so that one enormous "sentence" (a table, a document without punctuation) cannot
    exhaust memory; an entity across such a cut cannot be predicted whole.
    """
    result = []
    for start, end in sentence_bounds(doc):
        indices = tuple(i for i in range(start, end) if not doc[i].is_space)
        step = max_tokens or len(indices) or 1
        for offset in range(0, len(indices), step):
            result.append(SentenceTokens(doc, indices[offset:offset + step]))
    return result


def to_flair_sentence(tokens: SentenceTokens, language_code: Optional[str] = None) -> "Sentence":
    """A Flair Sentence of exactly these spaCy tokens (text, offsets and spacing kept)."""
    from flair.data import Sentence, Token

    doc = tokens.doc
    base = doc[tokens.token_indices[0]].idx
    flair_tokens = []
    for position, index in enumerate(tokens.token_indices):
        token = doc[index]
        end = token.idx + len(token.text)
        next_start = doc[tokens.token_indices[position + 1]].idx if position + 1 < len(tokens.token_indices) else end
        # 0 or 1: FlairEmbeddings advances its character offset by one for any gap, so a wider
        # gap (e.g. "\n  ") written as several spaces would misalign every later token
        flair_tokens.append(Token(token.text, whitespace_after=int(next_start > end), start_position=token.idx - base))
    return Sentence(flair_tokens, language_code=language_code or doc.lang_ or None)


def entity_token_spans(tokens: SentenceTokens, ents: Iterable[Span]) -> Tuple[List[Tuple[int, int, str]], int]:
    """Entities as ``(first, last_exclusive, label)`` positions in the sentence's token list.

    Returns those spans and how many of ``ents`` start in the sentence but end after it
    (these cannot be tagged and are left out; each is counted once, where it starts).
    """
    position_of = {index: position for position, index in enumerate(tokens.token_indices)}
    first_index, last_index = tokens.token_indices[0], tokens.token_indices[-1]
    spans, crossing = [], 0
    for ent in ents:
        if ent.end <= first_index or ent.start > last_index:
            continue
        if ent.start < first_index:
            continue  # started in an earlier sentence, counted there
        if ent.end - 1 > last_index:
            crossing += 1
            continue
        positions = [position_of[i] for i in range(ent.start, ent.end) if i in position_of]
        if positions:
            spans.append((positions[0], positions[-1] + 1, ent.label_))
    return spans, crossing


#: (index of the Doc in a batch, one of its sentences)
LocatedSentence = Tuple[int, SentenceTokens]


def doc_sentences(docs: Sequence[Doc], max_sentence_tokens: Optional[int]) -> List[LocatedSentence]:
    """``(doc index, tokens)`` for every sentence of ``docs``, in order (see :func:`sentence_tokens`)."""
    return [(doc_index, tokens) for doc_index, doc in enumerate(docs)
            for tokens in sentence_tokens(doc, max_sentence_tokens)]


def prediction_units(located: Sequence[LocatedSentence]) -> List[Tuple[int, SentenceTokens, "Sentence"]]:
    """``(doc index, tokens, Flair Sentence)`` for the sentences of :func:`doc_sentences`.

    Flair links every sentence of a ``predict()`` call as context of the next; the links are set per
    document here, so no context crosses from one document into another.
    """
    from flair.data import Sentence

    units = [(doc_index, tokens, to_flair_sentence(tokens)) for doc_index, tokens in located]
    for _, doc_units in itertools.groupby(units, key=lambda unit: unit[0]):
        Sentence.set_context_for_sentences([sentence for _, _, sentence in doc_units])
    return units


def predictions_by_doc(located: Sequence[LocatedSentence], sentence_predictions: Sequence[List[Prediction]],
                       n_docs: int) -> List[List[Prediction]]:
    """Each sentence's predictions gathered per document, in token order."""
    result: List[List[Prediction]] = [[] for _ in range(n_docs)]
    for (doc_index, _), predictions in zip(located, sentence_predictions):
        result[doc_index].extend(predictions)
    for doc_predictions in result:
        doc_predictions.sort()
    return result


def predict_entities(tagger: "SequenceTagger", units: Sequence[Tuple[int, SentenceTokens, "Sentence"]], n_docs: int,
                     batch_size: int = 32, label_name: Optional[str] = None) -> List[List[Prediction]]:
    """Tag the sentences of :func:`prediction_units` with Flair's ``predict`` (length-sorted mini-batches, no
    embeddings kept) and read the predicted spans back as spaCy token offsets per document, in token order."""
    import torch

    label_name = label_name or tagger.tag_type
    sentences = [sentence for _, _, sentence in units]
    if sentences:
        with torch.inference_mode():
            tagger.predict(sentences, mini_batch_size=batch_size, label_name=label_name, embedding_storage_mode="none")
    per_sentence: List[List[Prediction]] = []
    for _, tokens, sentence in units:
        per_sentence.append([])
        for span in sentence.get_spans(label_name):
            label = span.get_label(label_name)
            first = tokens.token_indices[span.tokens[0].idx - 1]
            last = tokens.token_indices[span.tokens[-1].idx - 1]
            per_sentence[-1].append((first, last + 1, label.value, float(label.score)))
    return predictions_by_doc([(doc_index, tokens) for doc_index, tokens, _ in units], per_sentence, n_docs)


def sentence_tags(tokens: SentenceTokens, spans: Sequence[Tuple[int, int, str]]) -> List[str]:
    """BIOES tags of the sentence's tokens for its entity ``spans`` (from :func:`entity_token_spans`),
    by spaCy's BILUO encoder (``L``/``U`` written as Flair's ``E``/``S``)."""
    from spacy.training import offsets_to_biluo_tags

    doc = tokens.doc
    indices = tokens.token_indices
    offsets = [(doc[indices[start]].idx, doc[indices[end - 1]].idx + len(doc[indices[end - 1]]), label)
               for start, end, label in spans]
    biluo = offsets_to_biluo_tags(doc, offsets)
    return [biluo[i].replace("L-", "E-", 1).replace("U-", "S-", 1) for i in indices]


@dataclass
class FlairDataReport:
    """Counts for a Docs → Flair conversion."""

    documents: int = 0
    sentences: int = 0
    tokens: int = 0
    entities: int = 0
    entities_crossing_sentences: int = 0
    whitespace_tokens_skipped: int = 0
    tokens_with_inner_whitespace: int = 0

    def summary(self) -> str:
        return "\n".join([
            f"documents                   {self.documents}",
            f"sentences                   {self.sentences}",
            f"tokens                      {self.tokens}",
            f"entities                    {self.entities}",
            f"entities crossing sentences {self.entities_crossing_sentences} (left out)",
            f"whitespace tokens skipped   {self.whitespace_tokens_skipped}",
            f"tokens with inner spaces    {self.tokens_with_inner_whitespace} (written with '_' in column files)",
        ])


def docs_to_flair_sentences(
    docs: Iterable[Doc], tag_type: str = DEFAULT_TAG_TYPE, report: Optional[FlairDataReport] = None
) -> Iterator["Sentence"]:
    """Labelled Flair Sentences (span labels of ``tag_type``) for training a SequenceTagger."""
    report = report if report is not None else FlairDataReport()
    for doc in docs:
        report.documents += 1
        for tokens in _counted_sentence_tokens(doc, report):
            sentence = to_flair_sentence(tokens)
            spans, crossing = entity_token_spans(tokens, doc.ents)
            report.entities_crossing_sentences += crossing
            report.entities += len(spans)
            for start, end, label in spans:
                sentence[start:end].add_label(tag_type, label)
            yield sentence


def _counted_sentence_tokens(doc: Doc, report: FlairDataReport) -> List[SentenceTokens]:
    result = sentence_tokens(doc)
    report.sentences += len(result)
    kept = sum(len(tokens.token_indices) for tokens in result)
    report.tokens += kept
    report.whitespace_tokens_skipped += len(doc) - kept
    return result


_WHITESPACE = re.compile(r"\s")


def write_column_file(docs: Iterable[Doc], path: PathLike, report: Optional[FlairDataReport] = None) -> FlairDataReport:
    """Write Flair's column format: ``token<space>BIOES-tag`` lines, a blank line after each sentence.

    Whitespace inside a token (e.g. a no-break space) would break the column format and is
    written as ``_``; such tokens are counted.
    """
    report = report if report is not None else FlairDataReport()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for doc in docs:
            report.documents += 1
            for tokens in _counted_sentence_tokens(doc, report):
                spans, crossing = entity_token_spans(tokens, doc.ents)
                report.entities_crossing_sentences += crossing
                report.entities += len(spans)
                for index, tag in zip(tokens.token_indices, sentence_tags(tokens, spans)):
                    text = doc[index].text
                    if _WHITESPACE.search(text):
                        report.tokens_with_inner_whitespace += 1
                        text = _WHITESPACE.sub("_", text)
                    out.write(f"{text} {tag}\n")
                out.write("\n")
    return report
