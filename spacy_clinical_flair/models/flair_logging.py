"""Flair's logger, quieted where it prints to stdout on every load (one concern, used by every loader)."""
from __future__ import annotations

import contextlib
import logging
from typing import Iterator


@contextlib.contextmanager
def quiet_flair() -> Iterator[None]:
    """Silence Flair's INFO lines ("SequenceTagger predicts: ...") that it prints to stdout on every load."""
    logger = logging.getLogger("flair")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
