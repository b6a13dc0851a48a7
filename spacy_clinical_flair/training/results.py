"""Training results as JSON files (``lm-result.json``, ``ner-result.json``, ``train-result.json``)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import srsly


def write_result(path: Path, result: Any) -> None:
    """A training result dataclass as JSON (paths as text), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(path, _jsonable(dataclasses.asdict(result)))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)
