"""Wall-clock budgets for trainers that stop cleanly on ``KeyboardInterrupt``.

Flair's LM trainer stops gracefully on ``KeyboardInterrupt`` (keeping its best model), and spaCy's training
loop is stopped by the ``clinical_flair.training_budget.v1`` callback raising one: :func:`time_budget` is a
one-shot ``SIGALRM`` timer that raises :class:`BudgetExpired` in the main thread. (The sequence-tagger trainer
takes plugins instead: :class:`~.flair_plugins.TrainingHistory`.) Nothing here imports torch or Flair.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


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
