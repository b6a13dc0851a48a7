"""Flair's logger, quieted where it prints to stdout on every load (one concern, used by every loader)."""
from __future__ import annotations

import contextlib
import logging
from typing import Iterator


@contextlib.contextmanager
def quiet_flair() -> Iterator[None]:
    """Silence Flair's INFO lines ("SequenceTagger predicts: ...", a one-hot vocabulary) that it prints to stdout
    on every load.

    Flair sets its logger to INFO when it is first imported; imported for the first time inside this block, it
    would undo the silence, so it is imported here first (only where Flair is about to be used anyway).
    """
    import flair  # noqa: F401  (configures the "flair" logger before its level is set below)

    logger = logging.getLogger("flair")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
