"""``spacy train`` from Python, with a wall-clock budget.

spaCy's training loop stops on ``max_steps``, ``max_epochs`` or ``patience``, never on time. The
registered ``[training.before_update]`` callback ``clinical_flair.training_budget.v1`` adds that: it
ends training right after a dev evaluation when the next one would end past the deadline (so the
saved ``model-best`` has seen every evaluation), and at the latest when the deadline passes.
:func:`train_spacy_pipeline` sets it from ``max_minutes``, counted from when the caller started.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import srsly

from .budget import BudgetExpired

BUDGET_CALLBACK = "clinical_flair.training_budget.v1"


class TrainingBudget:
    """``before_update`` callback that raises :class:`BudgetExpired` when the time is spent."""

    def __init__(self, deadline: float, eval_frequency: int) -> None:
        self.deadline = deadline
        self.eval_frequency = max(1, eval_frequency)
        self.evaluated_at: List[float] = []

    def __call__(self, nlp, info: Dict[str, Any]) -> None:
        now = time.time()
        step = info["step"]
        if now >= self.deadline:
            raise BudgetExpired(f"training budget spent at step {step}")
        if step and (step - 1) % self.eval_frequency == 0:  # the loop evaluated after the previous step
            self.evaluated_at.append(now)
            if len(self.evaluated_at) >= 2:
                period = (self.evaluated_at[-1] - self.evaluated_at[0]) / (len(self.evaluated_at) - 1)
                if now + period > self.deadline:
                    raise BudgetExpired(f"training budget would be spent before the evaluation after step {step}")


def make_training_budget(max_minutes: float = 0.0, deadline: float = 0.0,
                         eval_frequency: int = 200) -> Callable[[Any, Dict[str, Any]], None]:
    """A wall-clock budget for ``spacy train``: ``deadline`` (Unix time), else ``max_minutes`` from now.

    Pass ``eval_frequency = ${training.eval_frequency}``. Training ends by raising
    :class:`~spacy_clinical_flair.training.budget.BudgetExpired` (a ``KeyboardInterrupt``): spaCy
    then saves ``model-last`` as on Ctrl-C; ``model-best`` is already saved.
    """
    if not deadline and max_minutes <= 0:
        raise ValueError("clinical_flair.training_budget.v1 needs max_minutes > 0 or a deadline")
    return TrainingBudget(deadline or time.time() + max_minutes * 60, eval_frequency)


@dataclass
class SpacyTrainResult:
    """Where the trained pipeline is and what training reported."""

    output: Path
    best_model: Path
    best_score: Optional[float]
    scores: Dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    stopped_by_budget: bool = False


def train_spacy_pipeline(
    config_path: Path, output: Path, overrides: Optional[Dict[str, Any]] = None, max_minutes: float = 0.0,
    use_gpu: int = -1, started_at: Optional[float] = None,
) -> SpacyTrainResult:
    """Train a spaCy pipeline as ``spacy train CONFIG --output OUTPUT`` does, within ``max_minutes``.

    ``max_minutes`` (0: no limit) counts from ``started_at`` (``time.time()``; default: now), so
    initialising the pipeline (reading the data, computing LM vectors) comes out of the same budget.
    ``model-best`` (best dev score) and ``model-last`` are written under ``output``.
    """
    import spacy
    from spacy import util
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train

    started_at = time.time() if started_at is None else started_at
    config_path, output = Path(config_path), Path(output)
    if not config_path.is_file():
        raise FileNotFoundError(f"config file {config_path} does not exist (see configs/)")
    if use_gpu >= 0:
        spacy.require_gpu(use_gpu)
    config = util.load_config(config_path, overrides=dict(overrides or {}), interpolate=False)
    if max_minutes > 0:
        config["training"]["before_update"] = {
            "@callbacks": BUDGET_CALLBACK, "deadline": started_at + max_minutes * 60,
            "eval_frequency": config["training"].get("eval_frequency", 200)}
    output.mkdir(parents=True, exist_ok=True)
    nlp = init_nlp(config, use_gpu=use_gpu)
    stopped = False
    try:
        train(nlp, output, use_gpu=use_gpu, stdout=sys.stdout, stderr=sys.stderr)
    except BudgetExpired as err:
        stopped = True
        print(f"Stopped by the time budget ({err}); model-best is the best dev checkpoint", file=sys.stdout)
    best = output / "model-best"
    meta_path = best / "meta.json"
    performance = srsly.read_json(meta_path).get("performance", {}) if meta_path.is_file() else {}
    return SpacyTrainResult(output, best, weighted_score(performance, config["training"].get("score_weights", {})),
                            performance, time.time() - started_at, stopped)


def weighted_score(performance: Dict[str, Any], weights: Dict[str, Any]) -> Optional[float]:
    """The score spaCy selects ``model-best`` by: the weighted sum of ``[training.score_weights]``."""
    used = {key: weight for key, weight in weights.items() if isinstance(weight, (int, float)) and weight}
    if not used or any(performance.get(key) is None for key in used):
        return None
    return sum(float(performance[key]) * weight for key, weight in used.items())
