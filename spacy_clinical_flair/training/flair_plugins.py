"""Plugins for Flair's sequence-tagger trainer (this module imports Flair, so only the tagger training uses it).

:class:`TrainingHistory` ends training with Flair's own ``TrainingInterrupt`` once the deadline passes (the
trainer then saves its final model) and records the dev scores and finished epochs.
"""
from __future__ import annotations

import time
from typing import List, Optional

from flair.trainers.plugins import MetricHistoryPlugin, TrainerPlugin
from flair.trainers.plugins.base import TrainingInterrupt


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
