"""A tokenizer for clinical text: spaCy's, plus splits where clinical notes glue entities to punctuation.

spaCy's tokenizer keeps ``H.`` (``Sexo: H.``), ``Edad:62``, ``CP:28029``, ``NHC:915943`` or
``08005-Barcelona`` as one token, while annotators mark ``H``, ``62``, ``28029``, ``Barcelona``.
No token-level NER can predict an entity whose edge falls inside a token, so such entities are lost
at inference whatever the model. On MEDDOCAN's training set 991 of 11,333 entities have an edge
inside a spaCy token; with the rules below, 23 do (e-mail addresses glued to ``E-mail:``, ``Der..``).

* infix: split ``:``, ``-`` and ``.`` between two letters or digits (``Edad:62``, ``CP:28029``,
  ``08005-Barcelona``, ``08017.España``), and ``/`` between a letter and a digit (``nhc/976421``);
  dates such as ``21/12/1995`` stay one token;
* suffix: split a final ``.`` or ``:`` after a letter, digit or ordinal sign (``H.``, ``11A.``, ``1º.``); the
  language's tokenizer exceptions (``Dr.``, ``Sra.``, ``Avda.``) still win, as they are matched first, except
  a lower-case letter with its full stop (``n.`` of ``s/n.``), which this tokenizer drops.

Finer tokens never make an entity unrepresentable; they only add tokens (+1.9 % on MEDDOCAN).
The converter and the pipeline must use the same tokenizer, so that training sees the tokens
inference sees: ``convert --tokenizer`` and ``[nlp.tokenizer]`` in ``configs/pipeline.cfg``.
"""
from __future__ import annotations

import re
from typing import Callable

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.util import compile_infix_regex, compile_suffix_regex, registry

TOKENIZER_NAME = "clinical_flair.tokenizer.v1"
#: Letters and digits of the rules below, with the ordinal signs (``1º``, ``2ª``).
ALNUM = "0-9A-Za-zÀ-ÿºª"
#: Punctuation split off between two letters/digits.
CLINICAL_INFIX = rf"(?<=[{ALNUM}])[:\-\.](?=[{ALNUM}])"
#: A slash between a letter and a digit (``nhc/976421``, ``2/día``); dates and ratios (``21/12``) stay whole.
SLASH_INFIX = r"(?<=[A-Za-zÀ-ÿ])/(?=[0-9])|(?<=[0-9])/(?=[A-Za-zÀ-ÿ])"
#: A final full stop or colon split off a letter or digit.
CLINICAL_SUFFIX = rf"(?<=[{ALNUM}])[\.:]"
#: The language's exceptions that this tokenizer drops: a lower-case letter and its full stop.
SINGLE_LETTER_STOP = re.compile(r"[a-zà-ÿ]\.")
#: Names accepted by ``convert --tokenizer``.
TOKENIZERS = ("clinical", "default")


def create_clinical_tokenizer() -> Callable[[Language], Tokenizer]:
    """spaCy registry function: the language's default tokenizer with the clinical infix and suffix rules."""
    make_default = registry.tokenizers.get("spacy.Tokenizer.v1")()

    def make_tokenizer(nlp: Language) -> Tokenizer:
        tokenizer = make_default(nlp)
        infixes = [*(nlp.Defaults.infixes or ()), CLINICAL_INFIX, SLASH_INFIX]
        tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
        tokenizer.suffix_search = compile_suffix_regex([*(nlp.Defaults.suffixes or ()), CLINICAL_SUFFIX]).search
        # spaCy keeps a lower-case letter with its full stop as one token ("n." of "s/n.", "sin número"), so an
        # address that ends at "s/n" could not be an entity; the suffix rule splits them instead (initials such
        # as "J." are upper case and never were exceptions)
        tokenizer.rules = {text: tokens for text, tokens in (tokenizer.rules or {}).items()
                           if not SINGLE_LETTER_STOP.fullmatch(text)}
        return tokenizer

    return make_tokenizer


def blank_pipeline(lang: str = "es", tokenizer: str = "clinical") -> Language:
    """An empty pipeline for ``lang`` with the ``clinical`` tokenizer or spaCy's ``default`` one."""
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, not {tokenizer!r}")
    if tokenizer == "default":
        return spacy.blank(lang)
    return spacy.blank(lang, config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER_NAME}}})
