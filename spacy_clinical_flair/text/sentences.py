"""A rule-based sentence splitter for clinical text that needs no trained model.

Registered as the spaCy factory ``clinical_sentencizer``. A sentence ends

* after ``.``, ``!``, ``?`` or ``…`` (and any closing quotes or brackets after it) when the next
  word starts with an upper-case letter, a digit or an opening mark, unless the word before
  the full stop is a known abbreviation or a single letter (initials), the mark is glued to the
  next word (``Ed.ICA``, ``No.7``, ``670.97.10.26``), or the word before is a number abbreviation
  and the next word a number (``No. 654``); and
* at a line break (a whitespace token containing one), when ``split_on_newlines`` is on.

Whitespace tokens stay at the end of the sentence they follow, so no sentence starts with
whitespace. Existing ``doc.ents`` are protected: no sentence boundary is ever placed inside an
entity, so an EntityRuler may run before the splitter.
"""
from __future__ import annotations

from functools import lru_cache
from typing import FrozenSet, Iterable, List, Optional, Tuple

import numpy
from spacy.attrs import IS_SPACE, ORTH, SENT_START, SPACY
from spacy.language import Language
from spacy.tokens import Doc

#: Words (lower case, without the final dot) after which a full stop does not end a sentence.
#: Spanish clinical abbreviations (the default; Portuguese below; pass your own for other languages).
DEFAULT_ABBREVIATIONS: FrozenSet[str] = frozenset(
    """
    dr dra drs dras sr sra srta sres ud uds lic prof
    aprox approx etc pág pag págs fig figs ej p.ej vs núm num nº n ref tel
    tto trat dx tx hx sx rx ap ex exp pac hab hosp serv urg uci
    mg mcg µg g gr kg ml cc dl l mmol meq ui u cm mm km h hr hrs min seg sem
    c.s.p v.o i.v i.m s.c vo iv im sc
    ca lab antec ant ppal dcha izq dcho izqdo sup inf post med
    av avd avda ctra crta carr pso pº pza plza pz urb esc edif ed apdo cdad col sta sto dña dª bº
    tfno tfn telf tlf tlfno
    """.split()
)
#: Words after which a full stop followed by a number does not end a sentence (``No. 654``, ``Nro. 3``):
#: not abbreviations everywhere, as ``no.`` also ends sentences.
NUMBER_ABBREVIATIONS: FrozenSet[str] = frozenset({"no", "nro", "nos"})

#: Brazilian/European Portuguese clinical abbreviations (``lang: pt``).
PORTUGUESE_ABBREVIATIONS: FrozenSet[str] = frozenset(
    """
    dr dra drs dras sr sra srta sres prof profa
    aprox etc pág pag págs fig figs ex p.ex vs nº n ref tel
    tto trat dx tx hx rx pac hosp int
    mg mcg µg g kg ml dl l mmol meq ui u cm mm km h hr hrs min seg sem
    vo iv im sc ev cp comp amp cx
    lab ant sup inf post esq dir
    """.split()
)
#: Default abbreviations by spaCy language code; other languages get the Spanish list.
ABBREVIATIONS_BY_LANG = {"es": DEFAULT_ABBREVIATIONS, "pt": PORTUGUESE_ABBREVIATIONS}


def abbreviations_for(lang: str) -> FrozenSet[str]:
    """The default abbreviations of ``lang`` (Spanish where the language has no list of its own)."""
    return ABBREVIATIONS_BY_LANG.get(lang, DEFAULT_ABBREVIATIONS)


SENTENCE_FINAL = frozenset({".", "!", "?", "…", "...", "?!", "!?"})
CLOSING = frozenset({'"', "'", "”", "’", "»", ")", "]", "}"})
OPENING = frozenset({'"', "'", "“", "‘", "«", "(", "[", "{", "¿", "¡", "-", "—", "•", "*"})
LINE_BREAKS = frozenset("\n\r\u2028\u2029\x0b\x0c\x85")


class ClinicalSentencizer:
    """Sets ``token.is_sent_start`` on every token of a Doc by the rules in the module doc."""

    def __init__(self, abbreviations: Optional[Iterable[str]] = None, split_on_newlines: bool = True) -> None:
        self.abbreviations = frozenset(a.lower().rstrip(".") for a in (abbreviations or DEFAULT_ABBREVIATIONS))
        self.split_on_newlines = split_on_newlines

    def __call__(self, doc: Doc) -> Doc:
        starts = self.sentence_starts(doc)
        for ent in doc.ents:
            for index in range(ent.start + 1, ent.end):
                starts[index] = False
        if len(doc):
            # one array write: the per-token setter re-checks the whole Doc each time
            values = numpy.where(numpy.asarray(starts, dtype=bool), 1, -1).astype("int64").astype("uint64")
            doc.from_array([SENT_START], values.reshape(-1, 1))  # type: ignore[arg-type]
        return doc

    def sentence_starts(self, doc: Doc) -> List[bool]:
        """One flag per token: does a sentence start here (ignoring entities)?"""
        starts = [False] * len(doc)
        if not len(doc):
            return starts
        starts[0] = True
        texts, is_space, space_after = token_columns(doc)
        pending = ""  # why the next word starts a sentence: "", "stop" or "newline"
        for index, text in enumerate(texts):
            if is_space[index]:
                if self.split_on_newlines and any(ch in LINE_BREAKS for ch in text):
                    pending = "newline"
                continue
            if pending == "stop" and text in CLOSING and not space_after[index - 1]:
                continue  # a closing quote or bracket attached to the full stop stays with it
            if pending:
                starts[index] = True
                pending = ""
            if text in SENTENCE_FINAL and self._ends_sentence(texts, is_space, space_after, index):
                pending = "stop"
        return starts

    def _ends_sentence(self, texts: List[str], is_space: List[bool], space_after: List[bool], index: int) -> bool:
        previous = texts[index - 1].lower() if index > 0 else ""
        word = previous.rstrip(".")
        if word and not space_after[index - 1] and (word in self.abbreviations or (len(word) == 1 and word.isalpha())):
            return False
        following = _next_word(texts, is_space, index)
        if following is None:
            return False
        first = following[0]
        glued = not space_after[index] and not is_space[index + 1] and texts[index + 1] not in CLOSING
        if glued and first.isalnum():
            return False  # glued to the next word: "Ed.ICA", "No.7", "670.97"
        if first.isdigit() and previous in NUMBER_ABBREVIATIONS:
            return False
        return first.isupper() or first.isdigit() or following in OPENING or first in OPENING


def token_columns(doc: Doc) -> Tuple[List[str], List[bool], List[bool]]:
    """Each token's text, whether it is whitespace, and whether a space follows it, read as arrays
    (making a Token object per token costs more than the splitting itself)."""
    values = doc.to_array([ORTH, IS_SPACE, SPACY])
    strings = doc.vocab.strings
    return ([strings[int(orth)] for orth in values[:, 0]], values[:, 1].astype(bool).tolist(),
            values[:, 2].astype(bool).tolist())


def _next_word(texts: List[str], is_space: List[bool], index: int) -> Optional[str]:
    """The first token after ``index`` that is neither whitespace nor closing punctuation."""
    for following in range(index + 1, len(texts)):
        if not is_space[following] and texts[following] not in CLOSING:
            return texts[following]
    return None


def make_clinical_sentencizer(
    nlp: Language, name: str, abbreviations: Optional[List[str]], split_on_newlines: bool
) -> ClinicalSentencizer:
    """spaCy factory for :class:`ClinicalSentencizer`; ``abbreviations`` null means the pipeline language's list."""
    return ClinicalSentencizer(abbreviations=abbreviations if abbreviations is not None else abbreviations_for(str(nlp.lang)),
                               split_on_newlines=split_on_newlines)


@lru_cache(maxsize=None)
def sentencizer_for(lang: str) -> ClinicalSentencizer:
    """The default splitter of ``lang`` (shared: the splitter holds no state between documents)."""
    return ClinicalSentencizer(abbreviations_for(lang))
