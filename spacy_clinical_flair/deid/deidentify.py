"""Turning a text and its PHI entities into a de-identified text and a report of every replacement.

Operators, chosen per label (:class:`DeidSettings`):

- ``redact``: the entity is removed;
- ``tag``: ``[LABEL]``;
- ``mask``: ``*`` of the same length;
- ``hash``: ``[LABEL:0123456789ab]``, the first 12 hex digits of an HMAC-SHA256 of the value under the user's key
  (a missing key is a :class:`~.keys.DeidKeyError`);
- ``surrogate``: a realistic value of the same kind (:mod:`.surrogates`); dates are shifted by the scope's offset
  (:mod:`.dates`); where neither applies (a kind without a generator, a date of unknown form) the entity is
  tagged and the report says why;
- ``keep``: left as it is (recorded in the report).

Consistency: every choice is derived from the key, the *scope* (the patient, or else the document) and the
value's normalised form (:func:`.kinds.normalise`), so one value gets one surrogate and one date shift per scope,
in every run and process that has the same key (:mod:`.keys`).

Before replacing, another model's entities where the first found nothing (``more``; in a pipeline the span group
:data:`~.component.RECALL_SPANS_KEY`), PHI the models tend to miss found by context (:mod:`.recall_rules`,
``recall_rules``), and every other mention of a found text (``propagate``) are added.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import AbstractSet, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .dates import shift_date
from .keys import DeidKey, DeidKeyError, key_or_random
from .kinds import kind_of, normalise
from .recall_rules import rule_entities
from .spans import claim
from .surrogates import surrogate

OPERATORS = ("redact", "tag", "mask", "hash", "surrogate", "keep")
#: Tries at drawing a surrogate whose normalised form differs from the original's.
_DRAWS = 20
#: The report note of an entity a recall rule found (:mod:`.recall_rules`).
NOTE_RECALL_RULE = "found by a recall rule"
#: The report note of another mention of a found entity's text (``propagate``).
NOTE_PROPAGATED = "another mention of a found entity"
#: The report note of an entity of another model (``more`` of :meth:`Deidentifier.deidentify`).
NOTE_OTHER_MODEL = "found by another model"
#: Candidate date shifts tried for a document scope until no shifted date writes another date of the note.
_SHIFT_DRAWS = 20
#: Then 4 candidates from each range 2, 3, ... times as far, so many times.
_SHIFT_SCALES = 15


def text_scope(text: str) -> str:
    """The scope of a document without a patient: ``"doc:"`` and the SHA-256 of its text."""
    return "doc:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def scope_of(text: str, patient: Optional[str]) -> str:
    """``"patient:"`` and the patient id when there is one, else :func:`text_scope`."""
    return f"patient:{patient}" if patient else text_scope(text)


@dataclass(frozen=True)
class DeidSettings:
    """Which operator each label gets, which kind each label holds, and how far dates move.

    ``operators`` maps labels to operators (the others get ``default_operator``); ``kinds`` adds to or
    overrides :data:`.kinds.LABEL_KINDS`; a scope's date shift is a whole number of days whose size is in
    ``date_shift_days`` (both ends included), forwards or backwards. The default range, 380 to 700 days, moves
    every date, month and year: a year-only date always changes year, a month-only one always changes month.
    ``propagate``: every other whole-word occurrence of a found entity's text is replaced too (:func:`propagate`).
    ``recall_rules``: spans that :mod:`.recall_rules` finds by context (ages, relatives, makers, ...) where no
    entity lies are replaced too. ``recall_spans``: a Doc's span group of another model's entities
    (:data:`~.component.RECALL_SPANS_KEY`; ``more`` of :meth:`Deidentifier.deidentify`) is replaced too where no
    entity lies.
    """

    default_operator: str = "surrogate"
    operators: Mapping[str, str] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)
    date_shift_days: Tuple[int, int] = (380, 700)
    propagate: bool = True
    recall_rules: bool = True
    recall_spans: bool = True

    def __post_init__(self) -> None:
        for label, operator in [("(default)", self.default_operator), *self.operators.items()]:
            if operator not in OPERATORS:
                raise ValueError(f"unknown de-identification operator {operator!r} for {label}: use one of "
                                 f"{', '.join(OPERATORS)}")
        low, high = self.date_shift_days
        if not 0 < low <= high:
            raise ValueError(f"date_shift_days must be two numbers 0 < low <= high, not {self.date_shift_days}")

    def operator(self, label: str) -> str:
        return self.operators.get(label, self.default_operator)

    def uses_hash(self) -> bool:
        return "hash" in (self.default_operator, *self.operators.values())


@dataclass
class Replacement:
    """One entity: where it was (``start``/``end`` in the original), what it was, the operator applied, and
    where its replacement is in the new text (``new_start``/``new_end``; equal for ``redact``)."""

    start: int
    end: int
    label: str
    text: str
    operator: str
    new_start: int
    new_end: int
    new_text: str
    note: str = ""


@dataclass
class DeidResult:
    """The de-identified text and its report; ``date_shift_days`` is the scope's offset (or ``None`` when no
    date was shifted)."""

    text: str
    replacements: List[Replacement]
    scope: str
    date_shift_days: Optional[int] = None

    def report(self) -> Dict[str, Any]:
        """The mapping report as JSON-ready data."""
        return {"scope": self.scope, "date_shift_days": self.date_shift_days,
                "replacements": [asdict(replacement) for replacement in self.replacements]}


def propagate(text: str, entities: Sequence[Tuple[int, int, str]]) -> List[Tuple[int, int, str]]:
    """Every other occurrence of an entity's text, as a whole word and overlapping no entity, as an entity of the
    same label: a name the model found once is replaced wherever it is written the same way. Only texts of at
    least 3 characters with a letter, or of at least 5 digits, are looked for (a lone "M" or "45" is too often
    something else)."""
    taken = sorted((start, end) for start, end, _ in entities)
    labels: Dict[str, str] = {}
    for start, end, label in entities:
        value = text[start:end]
        if len(value) >= 3 and (any(c.isalpha() for c in value) or sum(c.isdigit() for c in value) >= 5):
            labels.setdefault(value, label)
    added: List[Tuple[int, int, str]] = []
    for value in sorted(labels, key=len, reverse=True):  # longer texts first: "Juan Pérez" before "Pérez"
        for match in re.finditer(rf"(?<!\w){re.escape(value)}(?!\w)", text):
            if claim(match.start(), match.end(), taken):
                added.append((match.start(), match.end(), labels[value]))
    return added


class Deidentifier:
    """Applies :class:`DeidSettings` with a key (``None``: a random one for this process)."""

    def __init__(self, settings: Optional[DeidSettings] = None, key: Optional[DeidKey] = None) -> None:
        self.settings = settings or DeidSettings()
        if self.settings.uses_hash() and key is None:
            raise DeidKeyError("the hash operator needs a key: set the environment variable CLINICAL_FLAIR_DEID_KEY "
                               "(or the one the config names) or give a key file; the key never goes into the "
                               "pipeline")
        self.key = key_or_random(key)

    def date_shift(self, scope: str, attempt: int = 0) -> int:
        """The scope's date offset in days (sign and size derived from the key). ``attempt`` > 0 gives the
        further candidates tried for a document scope (:meth:`document_date_shift`): up to
        :data:`_SHIFT_DRAWS` from the same range, then from ranges 2, 3, ... times as far."""
        low, high = self.settings.date_shift_days
        scale = 1 if attempt < _SHIFT_DRAWS else 2 + (attempt - _SHIFT_DRAWS) // 4
        number = self.key.number("date-shift", scope, *([str(attempt)] if attempt else []))
        size = scale * low + (number >> 1) % (scale * (high - low) + 1)
        return size if number & 1 else -size

    def document_date_shift(self, text: str, entities: Sequence[Tuple[int, int, str]], scope: str) -> int:
        """The date offset used for one document. A patient scope has one fixed offset (the intervals between
        all its documents' dates are kept). A document scope takes the first candidate offset under which no
        shifted date writes another date of the same note as a whole word (``2007`` shifted onto the ``2009``
        written two lines below would leave that value in the output): first from ``date_shift_days``, then, for
        a note whose dates are close together over years, from ranges several times as far. The candidates
        follow from the key, so the choice is the same in every run."""
        if scope.startswith("patient:"):
            return self.date_shift(scope)
        dates = [text[start:end] for start, end, label in entities
                 if self.settings.operator(label) == "surrogate" and kind_of(label, self.settings.kinds) == "date"]
        written = frozenset(date.casefold() for date in dates if len(date) >= 2)
        for attempt in range(_SHIFT_DRAWS + _SHIFT_SCALES * 4):
            shift = self.date_shift(scope, attempt)
            if not any(self._writes_another_value(shift_date(date, shift) or "", written) for date in dates):
                return shift
        return self.date_shift(scope)

    def deidentify(self, text: str, entities: Sequence[Tuple[int, int, str]], scope: str,
                   more: Sequence[Tuple[int, int, str]] = ()) -> DeidResult:
        """``text`` with each ``(start, end, label)`` entity replaced by its operator. Entities must not overlap
        (``doc.ents`` never do); ``scope`` is the patient id, or the document's id when there is none. ``more``
        (another model's entities, which may overlap) adds each of its entities that overlaps none of ``entities``
        nor one added before it (earlier and longer first), unless the settings' ``recall_spans`` is off."""
        ordered = sorted(entities)
        for (_, end, _), (start, _, _) in zip(ordered, ordered[1:]):
            if start < end:
                raise ValueError(f"overlapping entities at characters {start}-{end}: de-identify non-overlapping "
                                 "entities (doc.ents)")
        taken = [(start, end) for start, end, _ in ordered]
        more = sorted(more, key=lambda e: (e[0], -e[1])) if self.settings.recall_spans else []
        other = [entity for entity in more if claim(entity[0], entity[1], taken)]
        ordered = sorted(ordered + other)
        ruled = rule_entities(text, ordered) if self.settings.recall_rules else []
        ordered = sorted(ordered + ruled)
        added = propagate(text, ordered) if self.settings.propagate else []
        ordered = sorted(ordered + added)
        notes = {**{entity: NOTE_OTHER_MODEL for entity in other}, **{entity: NOTE_RECALL_RULE for entity in ruled},
                 **{entity: NOTE_PROPAGATED for entity in added}}
        # a surrogate may not write another PHI value of this document (a drawn "Juan" where "Juan" was found)
        avoid = frozenset(text[start:end].casefold() for start, end, _ in ordered if end - start >= 2)
        shift = self.document_date_shift(text, ordered, scope)
        pieces: List[str] = []
        replacements: List[Replacement] = []
        position = length = 0
        shifted = False
        for start, end, label in ordered:
            pieces.append(text[position:start])
            length += start - position
            original = text[start:end]
            operator, new, note = self.replace(original, label, scope, avoid, shift)
            note = "; ".join(filter(None, [notes.get((start, end, label), ""), note]))
            shifted = shifted or note.endswith("date shifted")
            replacements.append(Replacement(start, end, label, original, operator, length, length + len(new), new,
                                            note))
            pieces.append(new)
            length += len(new)
            position = end
        pieces.append(text[position:])
        return DeidResult("".join(pieces), replacements, scope, shift if shifted else None)

    def replace(self, original: str, label: str, scope: str, avoid: AbstractSet[str] = frozenset(),
                shift: Optional[int] = None) -> Tuple[str, str, str]:
        """(operator applied, new text, note) for one entity; a surrogate never holds a text of ``avoid``, and a
        date moves by ``shift`` days (default: the scope's :meth:`date_shift`)."""
        operator = self.settings.operator(label)
        if operator == "surrogate":
            return self._surrogate(original, label, scope, avoid, self.date_shift(scope) if shift is None else shift)
        if operator == "redact":
            return operator, "", ""
        if operator == "mask":
            return operator, "*" * len(original), ""
        if operator == "hash":
            kind = kind_of(label, self.settings.kinds)
            return operator, f"[{label}:{self.key.digest('hash', label, normalise(kind, original)).hex()[:12]}]", ""
        if operator == "keep":
            return operator, original, ""
        return "tag", f"[{label}]", ""

    @staticmethod
    def _writes_another_value(new: str, avoid: AbstractSet[str]) -> bool:
        """Whether ``new`` holds one of the texts in ``avoid`` as a whole word (case ignored)."""
        folded = new.casefold()
        return any(re.search(rf"(?<!\w){re.escape(value)}(?!\w)", folded) for value in avoid)

    def _surrogate(self, original: str, label: str, scope: str, avoid: AbstractSet[str],
                   shift: int) -> Tuple[str, str, str]:
        kind = kind_of(label, self.settings.kinds)
        if kind == "date":
            new = shift_date(original, shift)
            if new is None:
                return "tag", f"[{label}]", "not a date of a known form: tagged"
            return "surrogate", new, "date shifted"
        value = normalise(kind, original)
        for draw in range(_DRAWS):
            new = surrogate(kind, original, self.key.number("surrogate", scope, kind, value, str(draw)))
            if new is None:
                return "tag", f"[{label}]", f"no surrogate for kind {kind!r}: tagged"
            if normalise(kind, new) != value and not self._writes_another_value(new, avoid):
                return "surrogate", new, ""
        return "tag", f"[{label}]", "no surrogate different from the original was found: tagged"
