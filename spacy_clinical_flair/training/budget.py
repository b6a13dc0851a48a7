"""Wall-clock budgets for Flair's trainers.

Both Flair trainers stop gracefully on ``KeyboardInterrupt`` (the LM trainer keeps its best
model, the sequence-tagger trainer saves its final model and then loads the best one). A budget
is therefore a one-shot ``SIGALRM`` timer that raises ``KeyboardInterrupt`` in the main thread.
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
