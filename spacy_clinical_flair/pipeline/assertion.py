"""Negation and assertion after the NER, with the libraries clinical teams use: negspacy and medspacy.

Both read ``doc.ents`` (whatever wrote them: ``clinical_flair_ner``, spaCy's ``ner`` on the Flair layer, a
rule) and need sentence boundaries (``clinical_sentencizer``). Install them with the ``clinical`` extra
(``pip install "spacy-clinical-flair[clinical]"``).

- **negspacy** (NegEx): ``nlp.add_pipe("negex", config={"neg_termset": negex_termset()})`` with its own Spanish
  clinical termset (``es_clinical``) sets ``ent._.negex``. In a config file:
  ``neg_termset = {"@misc": "clinical_flair.negex_termset.v1", "name": "es_clinical"}``.
- **medspacy** (ConText): :func:`add_spanish_context` adds ``medspacy_context`` with :func:`spanish_context_rules`
  (negation from the same negspacy termset, plus Spanish cues of uncertainty, history, hypothesis and
  family), which sets ``ent._.is_negated``, ``is_uncertain``, ``is_historical``, ``is_hypothetical`` and
  ``is_family``. medspacy ships English rules only.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

if TYPE_CHECKING:
    from spacy.language import Language

INSTALL_HINT = 'pip install "spacy-clinical-flair[clinical]" (negspacy and medspacy)'

#: Spanish ConText cues beyond negation (NegEx has none): (phrase, category, direction).
SPANISH_ASSERTION_CUES = [
    *((cue, "POSSIBLE_EXISTENCE", "FORWARD") for cue in (
        "posible", "probable", "sospecha de", "sugestivo de", "sugestiva de", "compatible con", "no se descarta",
        "a descartar", "dudoso", "dudosa", "impresiona de")),
    *((cue, "POSSIBLE_EXISTENCE", "BACKWARD") for cue in ("a descartar", "probable", "dudoso", "dudosa")),
    *((cue, "HISTORICAL", "FORWARD") for cue in (
        "antecedentes de", "antecedente de", "historia de", "con antecedentes de", "previo de", "intervenido de")),
    *((cue, "HYPOTHETICAL", "FORWARD") for cue in ("si presenta", "en caso de", "si aparece", "si aparecen", "vigilar")),
    *((cue, "FAMILY", "FORWARD") for cue in (
        "madre", "padre", "hermano", "hermana", "hijo", "hija", "abuelo", "abuela", "tío", "tía",
        "antecedentes familiares de", "familiar con")),
]


def negex_termset(name: str = "es_clinical") -> Dict[str, List[str]]:
    """negspacy's termset ``name`` (``es_clinical``: its Spanish clinical NegEx terms), for ``negex``'s ``neg_termset``."""
    try:
        import negspacy.negation  # noqa: F401  (registers the "negex" factory)
        from negspacy.termsets import LANGUAGES, termset
    except ImportError as err:
        raise ImportError(f"negspacy is not installed: {INSTALL_HINT}") from err
    if name not in LANGUAGES:
        raise ValueError(f"negspacy has no termset {name!r}; it has {sorted(LANGUAGES)}")
    return dict(termset(name).get_patterns())


def spanish_context_rules() -> List[Any]:
    """medspacy ``ConTextRule`` objects for Spanish clinical text.

    Negation: negspacy's ``es_clinical`` NegEx terms (preceding → ``FORWARD``, following → ``BACKWARD``, pseudo
    negations → ``PSEUDO``, terminations → ``TERMINATE``); the other categories from
    :data:`SPANISH_ASSERTION_CUES`. Scope: the sentence, cut at a termination.
    """
    try:
        from medspacy.context import ConTextRule
    except ImportError as err:
        raise ImportError(f"medspacy is not installed: {INSTALL_HINT}") from err
    terms = negex_termset("es_clinical")
    directions = {"preceding_negations": ("NEGATED_EXISTENCE", "FORWARD"),
                  "following_negations": ("NEGATED_EXISTENCE", "BACKWARD"),
                  "pseudo_negations": ("PSEUDO", "PSEUDO"), "termination": ("TERMINATE", "TERMINATE")}
    seen = set()
    rules = []
    for key, (category, direction) in directions.items():
        for phrase in terms[key]:
            if (phrase, direction) not in seen:
                seen.add((phrase, direction))
                rules.append(ConTextRule(phrase, category, direction=direction))
    for phrase, category, direction in SPANISH_ASSERTION_CUES:
        if (phrase, direction) not in seen:
            seen.add((phrase, direction))
            rules.append(ConTextRule(phrase, category, direction=direction))
    return rules


def add_spanish_context(nlp: "Language", **add_pipe_args: Any) -> Any:
    """Add medspacy's ``medspacy_context`` with :func:`spanish_context_rules` (``add_pipe_args``: ``after``, ``name``...)."""
    rules = spanish_context_rules()
    import medspacy  # noqa: F401  (registers its factories and extensions)

    context: Any = nlp.add_pipe("medspacy_context", config={"rules": None}, **add_pipe_args)
    context.add(rules)
    return context
