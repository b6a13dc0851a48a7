"""Choosing the entities that go into ``doc.ents`` (a flat, non-overlapping layer).

The rules, applied in this order, every decision counted:

1. Whitespace at the edges of a fragment is trimmed (``trimmed``); an entity that is only
   whitespace cannot be placed (``invalid``).
2. A discontinuous entity whose gaps are only whitespace is one continuous span
   (``discontinuous_joined``). One with a real gap stays out of ``doc.ents``
   (``discontinuous``), or, with ``discontinuous="cover"``, is replaced by the span from its
   first to its last character (``discontinuous_covered``).
3. An entity strictly inside another candidate is left out (``nested``); of entities with the
   same extent the first in ``.ann`` order wins (``same_extent``).
4. Of the remaining (outermost) entities, crossing ones (overlapping, neither inside the
   other) are resolved longest first, ties to the earlier start (``crossing``).

Every entity, whatever the outcome, keeps its trimmed fragments in :attr:`FlattenResult.spans`
so that nothing is lost from the DocBin.
"""
from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

from .brat import BratEntity, Fragment, Problem

#: Outcomes of an entity; the counts of these add up to the number of valid ``T`` lines.
IN_ENTS = "in_ents"
NESTED = "nested"
SAME_EXTENT = "same_extent"
CROSSING = "crossing"
DISCONTINUOUS = "discontinuous"
INVALID = "invalid"
OUTCOMES = (IN_ENTS, NESTED, SAME_EXTENT, CROSSING, DISCONTINUOUS, INVALID)

#: Changes made to an entity that still reaches the candidates.
TRIMMED = "trimmed"
DISCONTINUOUS_JOINED = "discontinuous_joined"
DISCONTINUOUS_COVERED = "discontinuous_covered"

DISCONTINUOUS_POLICIES = ("skip", "cover")


@dataclass(frozen=True)
class FlatSpan:
    """A character span with its label and the BRAT id of the entity it comes from."""

    start: int
    end: int
    label: str
    entity_id: str


@dataclass
class FlattenResult:
    """What :func:`flatten_entities` decided for one document."""

    ents: List[FlatSpan] = field(default_factory=list)
    spans: List[FlatSpan] = field(default_factory=list)
    outcomes: List[str] = field(default_factory=list)
    changes: Counter = field(default_factory=Counter)
    problems: List[Problem] = field(default_factory=list)

    @property
    def outcome_counts(self) -> Counter:
        return Counter(self.outcomes)


def trim_fragment(text: str, fragment: Fragment) -> Fragment:
    """Move the edges of a fragment inwards past whitespace; may return an empty fragment."""
    start, end = fragment
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


@dataclass
class _Candidate:
    start: int
    end: int
    order: int
    entity: BratEntity


def flatten_entities(
    text: str, entities: Sequence[BratEntity], discontinuous: str = "skip", file: str = "<doc>"
) -> FlattenResult:
    """Apply the module's rules to one document's entities (in ``.ann`` order)."""
    if discontinuous not in DISCONTINUOUS_POLICIES:
        raise ValueError(f"discontinuous must be one of {DISCONTINUOUS_POLICIES}, got {discontinuous!r}")
    result = FlattenResult(outcomes=[""] * len(entities))
    candidates = []
    for order, entity in enumerate(entities):
        fragments = _trimmed_fragments(text, entity, result, file)
        if not fragments:
            result.outcomes[order] = INVALID
            continue
        result.spans.extend(FlatSpan(s, e, entity.label, entity.id) for s, e in fragments)
        extent = _continuous_extent(text, entity, fragments, discontinuous, result, file)
        if extent is None:
            result.outcomes[order] = DISCONTINUOUS
            continue
        candidates.append(_Candidate(extent[0], extent[1], order, entity))
    outermost = _mark_nested(candidates, result.outcomes)
    for candidate in _resolve_crossing(outermost, result.outcomes):
        result.ents.append(FlatSpan(candidate.start, candidate.end, candidate.entity.label, candidate.entity.id))
    result.ents.sort(key=lambda span: span.start)
    return result


def _trimmed_fragments(text: str, entity: BratEntity, result: FlattenResult, file: str) -> List[Fragment]:
    fragments = []
    for fragment in entity.fragments:
        trimmed = trim_fragment(text, fragment)
        if trimmed != fragment:
            result.changes[TRIMMED] += 1
            result.problems.append(Problem(
                TRIMMED, file, entity.line,
                f"{entity.id}: whitespace trimmed, {fragment[0]}-{fragment[1]} -> {trimmed[0]}-{trimmed[1]}"))
        if trimmed[0] < trimmed[1]:
            fragments.append(trimmed)
    if not fragments:
        result.problems.append(Problem("whitespace_only", file, entity.line,
                                       f"{entity.id}: the entity covers only whitespace; it was dropped"))
    return fragments


def _continuous_extent(
    text: str, entity: BratEntity, fragments: List[Fragment], policy: str, result: FlattenResult, file: str
) -> Tuple[int, int] | None:
    start, end = fragments[0][0], fragments[-1][1]
    if len(fragments) == 1:
        return start, end
    gaps = [text[a_end:b_start] for (_, a_end), (b_start, _) in zip(fragments, fragments[1:])]
    if all(not gap.strip() for gap in gaps):
        result.changes[DISCONTINUOUS_JOINED] += 1
        return start, end
    if policy == "cover":
        result.changes[DISCONTINUOUS_COVERED] += 1
        result.problems.append(Problem(DISCONTINUOUS_COVERED, file, entity.line,
                                       f"{entity.id}: discontinuous entity replaced by its covering span {start}-{end}"))
        return start, end
    result.problems.append(Problem(DISCONTINUOUS, file, entity.line,
                                   f"{entity.id}: discontinuous entity kept only in doc.spans "
                                   "(use discontinuous='cover' to put its covering span in doc.ents)"))
    return None


def _mark_nested(candidates: List[_Candidate], outcomes: List[str]) -> List[_Candidate]:
    """Mark nested and same-extent candidates; return the outermost ones (O(n log n))."""
    ordered = sorted(candidates, key=lambda c: (c.start, -c.end, c.order))
    outermost = []
    max_end_before = -1  # largest end among earlier extents (all start at or before this one)
    index = 0
    while index < len(ordered):
        group_end = index
        first = ordered[index]
        while group_end < len(ordered) and (ordered[group_end].start, ordered[group_end].end) == (first.start, first.end):
            group_end += 1
        if max_end_before >= first.end:
            for candidate in ordered[index:group_end]:
                outcomes[candidate.order] = NESTED
        else:
            outermost.append(first)
            for candidate in ordered[index + 1:group_end]:
                outcomes[candidate.order] = SAME_EXTENT
        max_end_before = max(max_end_before, first.end)
        index = group_end
    return outermost


def _resolve_crossing(outermost: List[_Candidate], outcomes: List[str]) -> List[_Candidate]:
    """Keep the longest of crossing entities, ties to the earlier start."""
    kept_starts: List[int] = []
    kept: List[_Candidate] = []
    for candidate in sorted(outermost, key=lambda c: (c.start - c.end, c.start, c.order)):
        position = bisect.bisect_left(kept_starts, candidate.start)
        overlaps_next = position < len(kept) and kept[position].start < candidate.end
        overlaps_previous = position > 0 and kept[position - 1].end > candidate.start
        if overlaps_next or overlaps_previous:
            outcomes[candidate.order] = CROSSING
            continue
        kept_starts.insert(position, candidate.start)
        kept.insert(position, candidate)
        outcomes[candidate.order] = IN_ENTS
    return kept
