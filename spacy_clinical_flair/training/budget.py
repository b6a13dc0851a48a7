"""Wall-clock budgets for Flair's trainers.

The sequence-tagger trainer takes plugins: :class:`TrainingHistory` ends training with Flair's own
``TrainingInterrupt`` once the deadline passes (the trainer then saves its final model) and records
the dev scores and finished epochs. Flair's LM trainer has no plugins, but stops gracefully on
``KeyboardInterrupt`` (keeping its best model): :func:`time_budget` is a one-shot ``SIGALRM`` timer
that raises one in the main thread.
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import Iterator, List, Optional

from flair.trainers.plugins import MetricHistoryPlugin, TrainerPlugin
from flair.trainers.plugins.base import TrainingInterrupt


class BudgetExpired(KeyboardInterrupt):
    """Raised inside a trainer when its time budget is spent (a KeyboardInterrupt, so Flair stops cleanly)."""


@contextlib.contextmanager
def time_budget(minutes: float) -> Iterator[None]:
    """Interrupt the enclosed training after ``minutes`` (0 or less: no limit).

    Only in the main thread of a POSIX process; elsewhere the budget is not enforced.
    """
    if minutes <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise BudgetExpired(f"time budget of {minutes} minutes spent")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, minutes * 60)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class TrainingHistory(MetricHistoryPlugin):
    """A Flair trainer plugin: Flair's :class:`MetricHistoryPlugin` recording each epoch's dev score (main
    metric), plus a stop past ``deadline`` (``time.perf_counter()``; None: never) and how many epochs finished."""

    def __init__(self, deadline: Optional[float] = None) -> None:
        super().__init__(metrics_to_collect={("dev", "score"): "dev_score"})
        self.deadline = deadline
        self.epochs = 0

    @property
    def dev_scores(self) -> List[float]:
        """The dev score after each epoch, in order."""
        return [float(value) for value in self.metric_history["dev_score"]]

    @TrainerPlugin.hook
    def after_training_batch(self, **kwargs) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise TrainingInterrupt("time budget spent (ner.max_minutes)")

    @TrainerPlugin.hook
    def after_training_epoch(self, epoch: int, **kwargs) -> None:
        self.epochs = epoch
