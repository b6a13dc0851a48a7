"""How much gold PHI a de-identified text still holds.

Two measures, per label and in total, over documents with gold PHI annotations:

- **surviving characters**: a gold PHI character survives when no replacement covers it (or the one that covers
  it kept it, operator ``keep``): it was copied into the output unchanged. Each survivor is followed to its
  place in the output through the report's offsets, and that place must hold the same character (a check of
  the report: :class:`ReportMismatch` otherwise);
- **strings in the output**: a gold PHI string (stripped) counts as leaked when it occurs in the document's output
  as a whole word (not inside a longer word; case and accents as written). Counted for every distinct gold string
  of a document, and separately for the strings the system *found* (every character of at least one of its gold
  mentions replaced): a found string that still occurs means the same value was left somewhere else in the
  document (a mention the system missed), or a replacement happened to write it. A gold string of one character
  (MEDDOCAN's sex letters ``H``, ``M``, ``F``) is not looked for: it occurs in almost any text ("H. pylori",
  "vitamina D") whether it leaked or not; such strings are counted apart (``unsearched_strings``), and their
  characters still count in the surviving characters.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Sequence, Tuple

from .deidentify import DeidResult

#: A gold entity: its label and its character ranges (one, or more for a discontinuous BRAT entity).
GoldEntity = Tuple[str, Sequence[Tuple[int, int]]]


#: Gold strings shorter than this are not looked for in the output.
MIN_SEARCHED_LENGTH = 2


class ReportMismatch(AssertionError):
    """A report's offsets do not lead from the original to the same character in the output."""


@dataclass
class LabelLeak:
    """Counts for one label."""

    gold_chars: int = 0
    surviving_chars: int = 0
    strings: int = 0
    strings_in_output: int = 0
    found_strings: int = 0
    found_strings_in_output: int = 0
    unsearched_strings: int = 0


@dataclass
class LeakReport:
    """Counts per label, and the found strings that still occur (document, label, string) for inspection."""

    labels: Dict[str, LabelLeak] = field(default_factory=dict)
    found_but_present: List[Tuple[str, str, str]] = field(default_factory=list)

    def total(self) -> LabelLeak:
        total = LabelLeak()
        for counts in self.labels.values():
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(counts, name))
        return total

    def summary(self) -> Dict[str, object]:
        """Shares and counts, in total and per label, as JSON-ready data."""
        def shares(counts: LabelLeak) -> Dict[str, object]:
            return {**vars(counts),
                    "surviving_char_share": counts.surviving_chars / counts.gold_chars if counts.gold_chars else 0.0,
                    "string_share": (counts.strings_in_output / (counts.strings - counts.unsearched_strings)
                                     if counts.strings > counts.unsearched_strings else 0.0),
                    "found_string_share": (counts.found_strings_in_output / counts.found_strings
                                           if counts.found_strings else 0.0)}

        return {"total": shares(self.total()), "labels": {label: shares(c) for label, c in sorted(self.labels.items())},
                "found_but_present": [list(item) for item in self.found_but_present]}


def add_document(report: LeakReport, doc_id: str, text: str, gold: Iterable[GoldEntity], result: DeidResult) -> None:
    """Add one document's counts: ``text`` the original, ``gold`` its PHI, ``result`` its de-identification."""
    replaced = [(r.start, r.end) for r in result.replacements if r.operator != "keep"]
    starts = [start for start, _ in replaced]
    deltas = _cumulative_deltas(result)
    ends = [end for end, _ in deltas]
    found: Dict[Tuple[str, str], bool] = {}
    for label, ranges in gold:
        counts = report.labels.setdefault(label, LabelLeak())
        survivors = 0
        for start, end in ranges:
            counts.gold_chars += end - start
            for position in range(start, end):
                if not _covered(position, replaced, starts):
                    _check_mapping(text, result, position, deltas, ends)
                    survivors += 1
        counts.surviving_chars += survivors
        string = " ".join(text[start:end] for start, end in ranges).strip()
        if string:
            found[(label, string)] = found.get((label, string), False) or survivors == 0
    for (label, string), was_found in found.items():
        counts = report.labels[label]
        counts.strings += 1
        if len(string) < MIN_SEARCHED_LENGTH:
            counts.unsearched_strings += 1
            continue
        present = _occurs(string, result.text)
        counts.strings_in_output += present
        counts.found_strings += was_found
        counts.found_strings_in_output += was_found and present
        if was_found and present:
            report.found_but_present.append((doc_id, label, string))


def _cumulative_deltas(result: DeidResult) -> List[Tuple[int, int]]:
    """(original end of a replacement, how far the output has moved after it), in order."""
    moved, deltas = 0, []
    for replacement in result.replacements:
        moved += len(replacement.new_text) - (replacement.end - replacement.start)
        deltas.append((replacement.end, moved))
    return deltas


def _check_mapping(text: str, result: DeidResult, position: int, deltas: List[Tuple[int, int]],
                   ends: List[int]) -> None:
    index = bisect.bisect_right(ends, position) - 1
    new_position = position + (deltas[index][1] if index >= 0 else 0)
    kept = next((r for r in result.replacements if r.start <= position < r.end), None)
    if kept is not None:  # operator keep: the character sits inside its (unchanged) replacement
        new_position = kept.new_start + position - kept.start
    if not 0 <= new_position < len(result.text) or result.text[new_position] != text[position]:
        raise ReportMismatch(f"character {position} ({text[position]!r}) is not at output offset {new_position}")


def _covered(position: int, replaced: List[Tuple[int, int]], starts: List[int]) -> bool:
    index = bisect.bisect_right(starts, position) - 1
    return index >= 0 and replaced[index][0] <= position < replaced[index][1]


def _occurs(string: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(string)}(?!\w)", text) is not None
