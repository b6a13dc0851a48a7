"""Training configuration in spaCy's config format, overridable like ``spacy train``."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, Iterable, Sequence, Type, TypeVar

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


def parse_overrides(args: Sequence[str]) -> Dict[str, Any]:
    """``--section.key value`` (or ``--section.key=value``) arguments as config overrides, like ``spacy train``.

    A value is read as JSON where it parses (``4``, ``true``, ``null``, ``["a"]``), else kept as a string; a
    flag with no value is ``true``. Anything else is a ``ValueError`` that names the argument.
    """
    overrides: Dict[str, Any] = {}
    args = list(args)
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or "." not in arg.split("=", 1)[0]:
            raise ValueError(f"config override {arg!r} should look like --section.key value")
        name, has_value, value = arg[2:].partition("=")
        if not has_value:
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                value = args[i + 1]
                i += 1
            else:
                value = "true"
        overrides[name.replace("-", "_")] = _json_or_string(value)
        i += 1
    return overrides


def _json_or_string(value: str) -> Any:
    import srsly

    try:
        return srsly.json_loads(value)
    except ValueError:
        return value
