"""Majority vote over the entities of several taggers (an ensemble of one recipe trained on different splits).

Each member predicts a list of entities ``(start_token, end_token, label, score)`` for a document. An
entity is kept when at least ``min_votes`` members predicted exactly it (same boundaries, same label);
by default that is a strict majority, ``members // 2 + 1``. Its score is the members' mean score for it,
counting a member that did not predict it as 0, so it reads as the ensemble's confidence.

A strict majority can never accept two overlapping entities (each member votes for at most one of
them), but a lower ``min_votes`` can; those are resolved by votes, then score, then position.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

from ..models.flair_data import Prediction

__all__ = ["Prediction", "majority", "vote"]


def majority(members: int) -> int:
    """The smallest number of votes that is more than half of ``members``."""
    return members // 2 + 1


def vote(member_predictions: Sequence[Sequence[Prediction]], min_votes: Optional[int] = None) -> List[Prediction]:
    """Entities predicted by at least ``min_votes`` of the members (default: a strict majority), in token order."""
    members = len(member_predictions)
    if members == 0:
        return []
    needed = majority(members) if min_votes is None else min_votes
    if not 1 <= needed <= members:
        raise ValueError(f"min_votes must be between 1 and the number of models ({members}), got {needed}")
    votes: Dict[Tuple[int, int, str], List[float]] = defaultdict(list)
    for predictions in member_predictions:
        for start, end, label, score in set(predictions):
            votes[(start, end, label)].append(score)
    accepted = [(key, len(scores), sum(scores) / members) for key, scores in votes.items() if len(scores) >= needed]
    accepted.sort(key=lambda item: (-item[1], -item[2], item[0][0], item[0][1], item[0][2]))
    taken: set = set()
    chosen: List[Prediction] = []
    for (start, end, label), _, score in accepted:
        if taken.isdisjoint(range(start, end)):
            taken.update(range(start, end))
            chosen.append((start, end, label, score))
    return sorted(chosen)
