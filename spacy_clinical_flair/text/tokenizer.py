"""A tokenizer for clinical text: spaCy's, plus splits where clinical notes glue entities to punctuation.

spaCy's tokenizer keeps ``H.`` (``Sexo: H.``), ``Edad:62``, ``CP:28029``, ``NHC:915943`` or
``08005-Barcelona`` as one token, while annotators mark ``H``, ``62``, ``28029``, ``Barcelona``.
No token-level NER can predict an entity whose edge falls inside a token, so such entities are lost
at inference whatever the model. On MEDDOCAN's training set 991 of 11,333 entities have an edge
inside a spaCy token; with the two extra rules below, 57 do (``benchmarks/accuracy.md``).

* infix: split ``:``, ``-`` and ``.`` between two letters or digits (``Edad:62``, ``CP:28029``,
  ``08005-Barcelona``, ``08017.España``); dates such as ``21/12/1995`` stay one token;
* suffix: split a final ``.`` or ``:`` after a letter or digit (``H.``, ``11A.``); the language's
  tokenizer exceptions (``Dr.``, ``Sra.``) still win, as they are matched first.

Finer tokens never make an entity unrepresentable; they only add tokens (+1.9 % on MEDDOCAN).
The converter and the pipeline must use the same tokenizer, so that training sees the tokens
inference sees: ``convert --tokenizer`` and ``[nlp.tokenizer]`` in ``configs/pipeline.cfg``.
"""
from __future__ import annotations

from typing import Callable

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.util import compile_infix_regex, compile_suffix_regex, registry

TOKENIZER_NAME = "clinical_flair.tokenizer.v1"
#: Punctuation split off between two letters/digits.
CLINICAL_INFIX = r"(?<=[0-9A-Za-zÀ-ÿ])[:\-\.](?=[0-9A-Za-zÀ-ÿ])"
#: A final full stop or colon split off a letter or digit.
CLINICAL_SUFFIX = r"(?<=[0-9A-Za-zÀ-ÿ])[\.:]"
#: Names accepted by ``convert --tokenizer``.
TOKENIZERS = ("clinical", "default")


def create_clinical_tokenizer() -> Callable[[Language], Tokenizer]:
    """spaCy registry function: the language's default tokenizer with the clinical infix and suffix rules."""
    make_default = registry.tokenizers.get("spacy.Tokenizer.v1")()

    def make_tokenizer(nlp: Language) -> Tokenizer:
        tokenizer = make_default(nlp)
        tokenizer.infix_finditer = compile_infix_regex([*(nlp.Defaults.infixes or ()), CLINICAL_INFIX]).finditer
        tokenizer.suffix_search = compile_suffix_regex([*(nlp.Defaults.suffixes or ()), CLINICAL_SUFFIX]).search
        return tokenizer

    return make_tokenizer


def blank_pipeline(lang: str = "es", tokenizer: str = "clinical") -> Language:
    """An empty pipeline for ``lang`` with the ``clinical`` tokenizer or spaCy's ``default`` one."""
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, not {tokenizer!r}")
    if tokenizer == "default":
        return spacy.blank(lang)
    return spacy.blank(lang, config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER_NAME}}})
