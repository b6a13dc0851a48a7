"""Character spans kept sorted: whether a new one overlaps any of them, and claiming it when it does not."""
from __future__ import annotations

import bisect
from typing import List, Tuple


def overlaps(start: int, end: int, taken: List[Tuple[int, int]]) -> bool:
    """Whether ``start``-``end`` overlaps a span of ``taken`` (sorted, non-overlapping ``(start, end)`` pairs)."""
    index = bisect.bisect_left(taken, (start, end))
    return any(s < end and start < e for s, e in taken[max(index - 1, 0):index + 1])


def claim(start: int, end: int, taken: List[Tuple[int, int]]) -> bool:
    """Add ``start``-``end`` to ``taken`` (kept sorted) unless it overlaps a span there; whether it was added."""
    if overlaps(start, end, taken):
        return False
    bisect.insort(taken, (start, end))
    return True
