"""``clinical_flair_deidentify``: a pipeline component, placed after the NER, that de-identifies each Doc.

It sets ``doc._.deid`` to a :class:`~.deidentify.DeidResult` (the new text and the mapping report) and leaves
the Doc itself as it is. The PHI replaced is ``doc.ents`` and, where they overlap none of them, the spans of the
group :data:`RECALL_SPANS_KEY` (another model's entities, for recall; ``es_meddocan_flair`` has a second NER that
writes them). The scope of consistency is ``doc._.patient_id`` when set, else the document (a hash of
its text). The key comes from the environment variable ``key_env`` or the file ``key_file`` named in the config,
read when the pipeline is loaded; the key itself is never in the config or on disk with the pipeline.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from .deidentify import Deidentifier, DeidResult, DeidSettings, scope_of
from .keys import DEFAULT_KEY_ENV, load_key

DEID_EXTENSION = "deid"
PATIENT_EXTENSION = "patient_id"
#: The span group whose spans (another model's entities) are replaced too where no entity of ``doc.ents`` lies.
RECALL_SPANS_KEY = "deid_recall"

DEID_DEFAULTS: Dict[str, object] = {"default_operator": "surrogate", "operators": {}, "kinds": {},
                                    "key_env": DEFAULT_KEY_ENV, "key_file": None, "date_shift_days": [380, 700],
                                    "propagate": True, "recall_rules": True,
                                    "recall_spans": True}


def document_scope(doc: Doc) -> str:
    """``doc._.patient_id`` when set, else ``"doc:"`` and the SHA-256 of the text (the document itself)."""
    patient = doc._.get(PATIENT_EXTENSION) if Doc.has_extension(PATIENT_EXTENSION) else None
    return scope_of(doc.text, patient)


def recall_entities(doc: Doc) -> List[Tuple[int, int, str]]:
    """``(start_char, end_char, label)`` of the spans in ``doc.spans[RECALL_SPANS_KEY]`` (none without it)."""
    spans = doc.spans[RECALL_SPANS_KEY] if RECALL_SPANS_KEY in doc.spans else []
    return [(span.start_char, span.end_char, span.label_) for span in spans]


def deidentify_doc(deidentifier: Deidentifier, doc: Doc) -> DeidResult:
    """``doc``'s text with its entities, and the recall spans where no entity lies (:func:`recall_entities`;
    unless the settings' ``recall_spans`` is off), replaced (the scope from :func:`document_scope`)."""
    entities = [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]
    return deidentifier.deidentify(doc.text, entities, document_scope(doc), recall_entities(doc))


class DeidentifyComponent:
    """Sets ``doc._.deid`` on every Doc (see the module docstring)."""

    def __init__(self, name: str, settings: DeidSettings, key_env: Optional[str], key_file: Optional[str]) -> None:
        self.name = name
        self.deidentifier = Deidentifier(settings, load_key(key_env, key_file))

    def __call__(self, doc: Doc) -> Doc:
        doc._.set(DEID_EXTENSION, deidentify_doc(self.deidentifier, doc))
        return doc


def make_deidentify(nlp: Language, name: str, default_operator: str, operators: Dict[str, str],
                    kinds: Dict[str, str], key_env: Optional[str], key_file: Optional[str],
                    date_shift_days: List[int], propagate: bool = True,
                    recall_rules: bool = True, recall_spans: bool = True) -> DeidentifyComponent:
    """The ``clinical_flair_deidentify`` factory (registered in :mod:`spacy_clinical_flair.registrations`)."""
    if len(date_shift_days) != 2:
        raise ValueError(f"date_shift_days must be two numbers [low, high], not {date_shift_days}")
    settings = DeidSettings(default_operator, dict(operators), dict(kinds), (date_shift_days[0], date_shift_days[1]),
                            propagate, recall_rules, recall_spans)
    return DeidentifyComponent(name, settings, key_env, key_file)
