"""Shifting a Spanish date expression by a number of days, keeping its format.

Understood (case-insensitive, text before and after the date kept as it is): numeric day-month-year
(``12/05/2018``, ``5-3-18``, ``12.05.2018``; month first where the second number is over 12: ``03/15/1996``),
ISO (``2018-05-12``), a month, a dash or slash and a year (``febrero-07``, ``diciembre-2002``),
``12 de mayo de 2018`` (also ``del``, ``del año``, a comma, or no ``de`` before the year), ``mayo de 2018``,
``12 de mayo``, a month alone and a year alone (``2004``, ``año 2004``, ``verano de 2003``). A missing day counts
as the 15th and a missing month as July 1st, so an expression without a day moves by whole months or years as its
midpoint does. Anything else is not a date here: :func:`shift_date` returns ``None`` and the caller falls back to
another operator.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Callable, Optional

MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre"]
_MONTH_NUMBER = {**{name: number for number, name in enumerate(MONTHS, start=1)}, "setiembre": 9}
_MONTH = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))

_NUMERIC = re.compile(r"(?<!\d)(?P<day>\d{1,2})(?P<sep>[/.-])(?P<month>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})(?!\d)")
_ISO = re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?!\d)")
_TEXTUAL = re.compile(
    rf"(?:(?P<day>\d{{1,2}})\s+de\s+)?(?P<month>{_MONTH})\b"
    r"(?:(?P<between>,?\s+(?:del?\s+)?(?:año\s+)?)(?P<year>\d{4})(?!\d))?", re.IGNORECASE)
_MONTH_SHORT_YEAR = re.compile(rf"\b(?P<month>{_MONTH})(?P<sep>[-/])(?P<year>\d{{4}}|\d{{2}})(?!\d)", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?P<year>(?:1[89]|20)\d{2})(?!\d)")


def shift_date(text: str, days: int) -> Optional[str]:
    """``text`` with the date in it moved by ``days`` (format, padding and case kept), or ``None`` when no
    date of a known form is found or the date does not exist (``31/02/2018``)."""
    for pattern, shift in ((_ISO, _shift_iso), (_NUMERIC, _shift_numeric), (_MONTH_SHORT_YEAR, _shift_month_year),
                           (_TEXTUAL, _shift_textual), (_YEAR, _shift_year)):
        match = pattern.search(text)
        if match:
            try:
                new = shift(match, days)
            except ValueError:  # a day or month that does not exist
                return None
            return text[: match.start()] + new + text[match.end():]
    return None


def _padded(value: int, like: str, two_digits: bool = True) -> str:
    """``value`` padded to two digits when ``like`` was written with two (``two_digits``) or a leading zero."""
    padded = like.startswith("0") or (two_digits and len(like) == 2)
    return f"{value:02d}" if padded else str(value)


def _full_year(year: str) -> int:
    """A four-digit year, or a two-digit one read as 19xx from 50 on and 20xx below."""
    if len(year) == 4:
        return int(year)
    return int(year) + (1900 if int(year) >= 50 else 2000)


def _shift_numeric(match: re.Match, days: int) -> str:
    """Day first; month first (``03/15/1996``) only where the first number cannot be a month's day order."""
    day, month, year, sep = match["day"], match["month"], match["year"], match["sep"]
    month_first = int(month) > 12 >= int(day)
    if month_first:
        day, month = month, day
    new = dt.date(_full_year(year), int(month), int(day)) + dt.timedelta(days=days)
    new_year = str(new.year) if len(year) == 4 else f"{new.year % 100:02d}"
    first, second = _padded(new.day, day), _padded(new.month, month)
    return f"{second}{sep}{first}{sep}{new_year}" if month_first else f"{first}{sep}{second}{sep}{new_year}"


def _shift_iso(match: re.Match, days: int) -> str:
    new = dt.date(int(match["year"]), int(match["month"]), int(match["day"])) + dt.timedelta(days=days)
    return f"{new.year:04d}-{_padded(new.month, match['month'])}-{_padded(new.day, match['day'])}"


def _shift_textual(match: re.Match, days: int) -> str:
    month_text, day, year = match["month"], match["day"], match["year"]
    # without a year, a leap year, so that "29 de febrero" exists
    start = dt.date(int(year) if year else 2000, _MONTH_NUMBER[month_text.lower()], int(day) if day else 15)
    new = start + dt.timedelta(days=days)
    parts = [f"{_padded(new.day, day, two_digits=False)} de " if day else "", _same_case(MONTHS[new.month - 1], month_text)]
    if year:
        parts += [match["between"], str(new.year)]
    return "".join(parts)


def _shift_month_year(match: re.Match, days: int) -> str:
    """``febrero-07``, ``diciembre/2002``: a month, a dash or slash and a year, moved as the month's 15th."""
    year = match["year"]
    new = dt.date(_full_year(year), _MONTH_NUMBER[match["month"].lower()], 15) + dt.timedelta(days=days)
    new_year = str(new.year) if len(year) == 4 else f"{new.year % 100:02d}"
    return f"{_same_case(MONTHS[new.month - 1], match['month'])}{match['sep']}{new_year}"


def _shift_year(match: re.Match, days: int) -> str:
    return str((dt.date(int(match["year"]), 7, 1) + dt.timedelta(days=days)).year)


def _same_case(word: str, like: str) -> str:
    case: Callable[[str], str] = str.upper if like.isupper() else str.capitalize if like[:1].isupper() else str.lower
    return case(word)
