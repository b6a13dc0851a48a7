"""Training configuration in spaCy's config format, overridable like ``spacy train``."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, Iterable, Type, TypeVar

from confection import Config
from pydantic import ConfigDict, ValidationError
from pydantic.dataclasses import dataclass as pydantic_dataclass

T = TypeVar("T")


def load_training_config(path: Path, overrides: Dict[str, Any]) -> Config:
    """Read a ``.cfg`` file, apply ``--section.key value`` overrides, interpolate ``${...}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist (see configs/ for examples)")
    return Config().from_disk(path, overrides=overrides, interpolate=True)


def settings_from(config: Config, section: str, cls: Type[T], other_keys: Iterable[str] = ()) -> T:
    """Build a settings dataclass from a config section, validated by pydantic as confection validates a
    registered function's arguments: unknown keys and values of the wrong type are an error that names them
    (and, for unknown keys, lists the known ones).

    ``other_keys`` are keys of the section that the caller reads itself.
    """
    values = {k: v for k, v in config.get(section, {}).items() if k not in set(other_keys)}
    known = {f.name for f in dataclasses.fields(cls)} | set(other_keys)  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown setting(s) in [{section}]: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        checked = _validator(cls)(**values)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(part) for part in e['loc'])} = {e['input']!r}: {e['msg']}"
                             for e in err.errors())
        raise ValueError(f"invalid setting(s) in [{section}]: {problems}") from None
    return cls(**{f.name: getattr(checked, f.name) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def _validator(cls: type) -> Any:
    """A pydantic dataclass with ``cls``'s fields (``cls`` itself stays a plain dataclass)."""
    return pydantic_dataclass(type(cls.__name__, (cls,), {}), config=ConfigDict(extra="forbid"))
