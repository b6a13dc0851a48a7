"""Every spaCy registration of the package in one place: factories, architectures, callbacks, the tokenizer,
the span getter and the Doc/Span extensions (as spaCy's own ``registrations.py`` does, so that no module
registers as a side effect of being imported and no import cycle is needed to reach a registry).

``setup.cfg``'s entry points name the functions here, so spaCy finds them without importing the package;
importing ``spacy_clinical_flair`` imports this module too. Registering twice is harmless (spaCy's registry
overwrites an entry with the same function).
"""
from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import registry

from .corpus.brat import NORMALIZATION, NOTE
from .corpus.docs import span_notes
from .deid.component import DEID_DEFAULTS, DEID_EXTENSION, PATIENT_EXTENSION, make_deidentify
from .evaluate.errors import make_ner_error_scorer
from .ml.cpu_ops import make_blas_ops
from .ml.flair_tok2vec import FlairEmbed, FlairVectors, make_precompute_vectors, make_share_lm_vectors
from .pipeline.assertion import negex_termset
from .pipeline.component import (
    NER_DEFAULTS,
    SCORE_EXTENSION,
    SCORES_EXTENSION,
    make_clinical_flair_ner,
    span_score,
)
from .pipeline.vote import make_copy_ents, make_union_ents, make_vote
from .text.sentences import make_clinical_sentencizer
from .text.tokenizer import TOKENIZER_NAME, create_clinical_tokenizer
from .text.windows import configure_sentence_windows
from .training.spacy_train import BUDGET_CALLBACK, make_training_budget

__all__ = ["FlairEmbed", "FlairVectors", "configure_sentence_windows", "create_clinical_tokenizer", "make_blas_ops",
           "make_clinical_flair_ner", "make_clinical_sentencizer", "make_copy_ents", "make_deidentify", "make_precompute_vectors",
           "make_share_lm_vectors", "make_union_ents",
           "make_ner_error_scorer", "make_training_budget", "make_vote", "negex_termset"]

NER_SCORE_WEIGHTS = {"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None}

# ------------------------------------------------------------------------------------------ extensions
if not Doc.has_extension(SCORES_EXTENSION):
    Doc.set_extension(SCORES_EXTENSION, default=None)
if not Span.has_extension(SCORE_EXTENSION):
    Span.set_extension(SCORE_EXTENSION, getter=span_score)
# the ``#`` notes and ``N`` references a converted entity had in its BRAT file (its code is span.kb_id_)
# de-identification: the result of clinical_flair_deidentify, and the patient a Doc belongs to (its scope)
if not Doc.has_extension(DEID_EXTENSION):
    Doc.set_extension(DEID_EXTENSION, default=None)
if not Doc.has_extension(PATIENT_EXTENSION):
    Doc.set_extension(PATIENT_EXTENSION, default=None)
if not Span.has_extension("brat_notes"):
    Span.set_extension("brat_notes", getter=lambda span: span_notes(span, NOTE))
if not Span.has_extension("brat_normalizations"):
    Span.set_extension("brat_normalizations", getter=lambda span: span_notes(span, NORMALIZATION))

# ------------------------------------------------------------------------------------------ factories
Language.factory(
    "clinical_sentencizer",
    default_config={"abbreviations": None, "split_on_newlines": True},
)(make_clinical_sentencizer)
Language.factory(
    "clinical_flair_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={**NER_DEFAULTS, "scorer": {"@scorers": "clinical_flair.ner_scorer.v1"}},
    default_score_weights=NER_SCORE_WEIGHTS,
)(make_clinical_flair_ner)
Language.factory(
    "clinical_flair_copy_ents", assigns=["doc.spans"], default_config={"spans_key": "ents", "clear_ents": False},
)(make_copy_ents)
Language.factory(
    "clinical_flair_vote", assigns=["doc.ents"],
    default_config={"spans_keys": [], "min_votes": 0, "ents_policy": "replace",
                    "scorer": {"@scorers": "clinical_flair.ner_scorer.v1"}},
    default_score_weights=NER_SCORE_WEIGHTS,
)(make_vote)

Language.factory(
    "clinical_flair_union_ents", assigns=["doc.ents"], default_config={"spans_keys": []},
)(make_union_ents)

Language.factory(
    "clinical_flair_deidentify", requires=["doc.ents"], assigns=[f"doc._.{DEID_EXTENSION}"],
    default_config=DEID_DEFAULTS,
)(make_deidentify)

# ------------------------------------------------------------------------------------------ registry functions
registry.tokenizers(TOKENIZER_NAME)(create_clinical_tokenizer)
registry.architectures("clinical_flair.FlairVectors.v1")(FlairVectors)
registry.architectures("clinical_flair.FlairEmbed.v1")(FlairEmbed)
registry.callbacks("clinical_flair.precompute_vectors.v1")(make_precompute_vectors)
registry.callbacks("clinical_flair.share_lm_vectors.v1")(make_share_lm_vectors)
registry.callbacks("clinical_flair.blas_ops.v1")(make_blas_ops)
registry.callbacks(BUDGET_CALLBACK)(make_training_budget)
registry.misc("clinical_flair.negex_termset.v1")(negex_termset)
registry.scorers("clinical_flair.ner_scorer.v1")(make_ner_error_scorer)
