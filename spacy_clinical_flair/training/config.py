"""Training configuration in spaCy's config format, overridable like ``spacy train``."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, Iterable, Type, TypeVar

from confection import Config

T = TypeVar("T")


def load_training_config(path: Path, overrides: Dict[str, Any]) -> Config:
    """Read a ``.cfg`` file, apply ``--section.key value`` overrides, interpolate ``${...}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist (see configs/ for examples)")
    return Config().from_disk(path, overrides=overrides, interpolate=True)


def settings_from(config: Config, section: str, cls: Type[T], other_keys: Iterable[str] = ()) -> T:
    """Build a settings dataclass from a config section; unknown keys are an error that lists the known ones.

    ``other_keys`` are keys of the section that the caller reads itself.
    """
    values = {k: v for k, v in config.get(section, {}).items() if k not in set(other_keys)}
    known = {f.name for f in dataclasses.fields(cls)} | set(other_keys)  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown setting(s) in [{section}]: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return cls(**values)
