"""The building blocks of the model-file schemas (:mod:`.schema`, :mod:`.transformer_schema`): the error they
raise, a JSON reader, and small checkers that each validate one value and say where it failed.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

Checker = Callable[[Any, str], Any]
#: How a JSON description marks a Flair Dictionary and a base64-encoded byte string.
DICTIONARY_MARK = "__dictionary__"
BYTES_MARK = "__base64__"


class DescriptionError(ValueError):
    """A model file's header or description is malformed or asks for something a model file may not."""


def parse_json(text: Any, what: str) -> Any:
    """``json.loads`` whose every failure (bad bytes, bad JSON, nesting too deep) is a DescriptionError."""
    try:
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError, TypeError) as err:
        raise DescriptionError(f"{what} is not valid JSON ({type(err).__name__}: {str(err)[:200]})") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise DescriptionError(f"{where} must be true or false, not {_show(value)}")
    return value


def integer(low: int, high: int) -> Checker:
    def check(value: Any, where: str) -> int:
        if not _is_int(value) or not low <= value <= high:
            raise DescriptionError(f"{where} must be a whole number from {low} to {high}, not {_show(value)}")
        return value
    return check


def number(low: float, high: float) -> Checker:
    def check(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise DescriptionError(f"{where} must be a number from {low} to {high}, not {_show(value)}")
        return value
    return check


def text(max_chars: int = 200, pattern: Optional[str] = None) -> Checker:
    compiled = re.compile(pattern) if pattern else None

    def check(value: Any, where: str) -> str:
        if not isinstance(value, str) or len(value) > max_chars or "\x00" in value:
            raise DescriptionError(f"{where} must be a text of at most {max_chars} characters, not {_show(value)}")
        if compiled is not None and not compiled.fullmatch(value):
            raise DescriptionError(f"{where} {_show(value)} is not of the form {pattern}")
        return value
    return check


def choice(*values: Any) -> Checker:
    def check(value: Any, where: str) -> Any:
        if isinstance(value, bool) or value not in values:
            raise DescriptionError(f"{where} must be one of {', '.join(map(repr, values))}, not {_show(value)}")
        return value
    return check


def optional(checker: Checker) -> Checker:
    def check(value: Any, where: str) -> Any:
        return None if value is None else checker(value, where)
    return check


def either(*checkers: Checker) -> Checker:
    def check(value: Any, where: str) -> Any:
        errors = []
        for checker in checkers:
            try:
                return checker(value, where)
            except DescriptionError as err:
                errors.append(str(err))
        raise DescriptionError(" or ".join(errors))
    return check


def fields(value: Any, spec: Mapping[str, Checker], where: str, required: Iterable[str] = ()) -> Dict[str, Any]:
    """``value`` as a dict whose keys are all in ``spec`` (and ``required`` present), each value checked."""
    if not isinstance(value, dict):
        raise DescriptionError(f"{where} must be a JSON object, not {_show(value)}")
    unknown = sorted(set(value) - set(spec))
    if unknown:
        raise DescriptionError(f"{where}: unknown parameter(s) {', '.join(map(repr, unknown[:8]))} (a model file "
                               f"may hold only {', '.join(sorted(spec))})")
    absent = [key for key in required if key not in value]
    if absent:
        raise DescriptionError(f"{where}: required parameter(s) {', '.join(map(repr, absent))} missing")
    return {key: spec[key](item, f"{where}.{key}") for key, item in value.items()}


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
