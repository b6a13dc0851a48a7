"""The building blocks of the model-file schemas (:mod:`.schema`, :mod:`.transformer_schema`): the error they
raise, a JSON reader, and :func:`validated`, which checks a value against a pydantic model and says in words where
it is wrong.
"""
from __future__ import annotations

import json
import reprlib
from typing import TYPE_CHECKING, Any, Callable, Mapping, Type

if TYPE_CHECKING:
    from pydantic import BaseModel

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


def validated(model: Type[BaseModel], value: Any, where: str) -> Any:
    """``value`` unchanged once ``model`` (a pydantic model) accepts it; else a DescriptionError saying, in
    words, where the value is wrong and what it must be (the first three problems pydantic found)."""
    from pydantic import ValidationError

    try:
        model.model_validate(value)
    except ValidationError as err:
        problems = [_problem(error, where) for error in err.errors(include_url=False)[:3]]
        raise DescriptionError("; ".join(problems)) from None
    return value


def checked_by(check: Checker) -> Callable[[Any], Any]:
    """A pydantic after-validator from a ``check(value, where)`` that raises DescriptionError (a ValueError,
    which pydantic reports as a ``value_error``; :func:`validated` puts the path in front of its message)."""
    return lambda value: check(value, "")


#: How each pydantic error type is said; ``{...}`` are the error's context values.
_PHRASES = {
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be a text",
    "string_too_long": "must be a text of at most {max_length} characters",
    "string_pattern_mismatch": "is not of the form {pattern}",
    "literal_error": "must be one of {expected}",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "too_short": "must hold at least {min_length} items",
    "too_long": "must hold at most {max_length} items",
    "list_type": "must be a list",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "missing": "is required but missing",
    "union_tag_not_found": "must name its class",
    "union_tag_invalid": ": embedding class {tag!r} is not one this package loads here ({expected_tags})",
}


def _problem(error: Mapping[str, Any], where: str) -> str:
    path = where + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"{path}: unknown parameter (a model file may hold only the parameters its class takes)"
    if kind == "value_error":
        message = str(context.get("error", error["msg"])).strip()
        return f"{path}{message}" if message[:1] in ".:" else f"{path} {message}"
    phrase = _PHRASES[kind].format(**context) if kind in _PHRASES else error["msg"]
    if kind == "union_tag_invalid":
        return f"{path}{phrase}"
    if kind in ("missing", "union_tag_not_found"):
        return f"{path} {phrase}"
    return f"{path} {phrase}, not {_show(error.get('input'))}"


_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxlevel = 60, 60, 5, 5, 2


def _show(value: Any) -> str:
    """A short repr for messages, cheap however large the value (reprlib stops early)."""
    shown = _SHORT.repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
