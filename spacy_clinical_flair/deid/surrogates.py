"""Realistic Spanish stand-ins for a PHI value, drawn from Faker's ``es_ES`` locale from a given seed.

Each kind has one generator: names keep their number of words, a title before them and their case; an
identifier, phone number or postal code keeps its shape (each digit a digit, each letter a letter, separators
kept); an age keeps its five-year band and one over 89 becomes "más de 89"; a sex word or letter becomes another
one. Dates are not drawn: they are shifted (:mod:`.dates`). A kind without a generator (``other``) gets ``None``.
Faker is imported on first use.
"""
from __future__ import annotations

import random
import re
import string
from functools import lru_cache
from typing import Any, Callable, Dict, Optional

from .kinds import TITLE

RELATIVES = ["madre", "padre", "hermana", "hermano", "hija", "hijo", "abuela", "abuelo", "tía", "tío", "prima",
             "primo", "esposa", "esposo", "pareja"]
SEX_WORDS = ["varón", "mujer", "hombre", "femenino", "masculino"]
SEX_LETTERS = ["H", "M", "V", "F"]


@lru_cache(maxsize=1)
def _faker():
    from faker import Faker

    return Faker("es_ES")


def surrogate(kind: str, original: str, seed: int) -> Optional[str]:
    """A stand-in for ``original`` (a value of ``kind``) drawn from ``seed``; ``None`` for a kind without a
    generator. The same seed gives the same stand-in."""
    generator = GENERATORS.get(kind)
    if generator is None:
        return None
    rng = random.Random(seed)
    fake = _faker()
    fake.seed_instance(seed)
    return generator(original, rng, fake).strip()


def same_shape(original: str, rng: random.Random) -> str:
    """Every digit replaced by a random digit, every letter by a random letter of the same case."""
    def draw(char: str) -> str:
        if char.isdigit():
            return rng.choice(string.digits)
        if char.isalpha():
            letter = rng.choice(string.ascii_letters[:26])
            return letter.upper() if char.isupper() else letter
        return char

    return "".join(draw(char) for char in original)


def _same_case(new: str, like: str) -> str:
    """``new`` in the case of ``like``: all capitals, a capital first letter, or all small letters."""
    if like.isupper() and len(like) > 1:
        return new.upper()
    if like[:1].isupper():
        return new[:1].upper() + new[1:]
    if like[:1].islower():
        return new.lower()
    return new


def _person(original: str, rng: random.Random, fake) -> str:
    """As many words as the original (at most two given names and two surnames), its title and case kept."""
    title = TITLE.match(original)
    prefix = title.group() if title else ""
    words = max(len(original[len(prefix):].split()), 1)
    given = 1 if words < 4 else 2
    first_name = fake.first_name_female if rng.random() < 0.5 else fake.first_name_male
    names = [first_name() for _ in range(given)] + [fake.last_name() for _ in range(min(words - given, 2))]
    return prefix + _same_case(" ".join(names), original[len(prefix):])


def _relative(original: str, rng: random.Random, fake) -> str:
    if original[:1].isupper() and original.lower() not in RELATIVES:  # a relative's name
        return _person(original, rng, fake)
    return _same_case(rng.choice([word for word in RELATIVES if word != original.lower()]), original)


def _age(original: str, rng: random.Random, fake) -> str:
    """The number (digits or Spanish words up to 99) moved within its five-year band; over 89: "más de 89"."""
    found = re.search(r"\d+", original)
    if found is not None:
        value, start, end, in_words = int(found.group()), found.start(), found.end(), False
    else:
        spelled = find_spelled_number(original)
        if spelled is None:
            return original
        value, start, end = spelled
        in_words = True
    if value > 89:
        new = "más de 89"
    else:
        band = range(value - value % 5, value - value % 5 + 5)
        number = rng.choice([n for n in band if n != value])
        new = _same_case(spell_number(number), original[start:end]) if in_words else str(number)
    return original[:start] + new + original[end:]


UNITS = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once", "doce",
         "trece", "catorce", "quince", "dieciséis", "diecisiete", "dieciocho", "diecinueve", "veinte", "veintiuno",
         "veintidós", "veintitrés", "veinticuatro", "veinticinco", "veintiséis", "veintisiete", "veintiocho",
         "veintinueve"]
TENS = {30: "treinta", 40: "cuarenta", 50: "cincuenta", 60: "sesenta", 70: "setenta", 80: "ochenta", 90: "noventa"}
_WORD_VALUES = {**{word: n for n, word in enumerate(UNITS)}, "un": 1, "una": 1, "veintiún": 21, "veintiuna": 21,
                **{word: n for n, word in TENS.items()}}
_SPELLED = re.compile(r"\b(?P<tens>treinta|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa)(?:\s+y\s+"
                      r"(?P<unit>un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve))?\b|\b(?P<word>"
                      + "|".join(sorted(_WORD_VALUES, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def find_spelled_number(text: str) -> Optional[tuple]:
    """(value, start, end) of the first number from 0 to 99 written in Spanish words, or ``None``."""
    match = _SPELLED.search(text)
    if match is None:
        return None
    if match["tens"]:
        value = _WORD_VALUES[match["tens"].lower()] + (_WORD_VALUES[match["unit"].lower()] if match["unit"] else 0)
    else:
        value = _WORD_VALUES[match["word"].lower()]
    return value, match.start(), match.end()


def spell_number(value: int) -> str:
    """0 to 99 in Spanish words ("sesenta y tres")."""
    if value < 30:
        return UNITS[value]
    tens, unit = value - value % 10, value % 10
    return TENS[tens] + (f" y {UNITS[unit]}" if unit else "")


def _sex(original: str, rng: random.Random, fake) -> str:
    if len(original.strip()) == 1:
        return rng.choice([letter for letter in SEX_LETTERS if letter != original.strip().upper()])
    return _same_case(rng.choice([word for word in SEX_WORDS if word != original.lower()]), original)


def _city(original: str, rng: random.Random, fake) -> str:
    return same_shape(original, rng) if any(char.isdigit() for char in original) else fake.city()


GENERATORS: Dict[str, Callable[[str, random.Random, Any], str]] = {
    "person": _person,
    "relative": _relative,
    "age": _age,
    "sex": _sex,
    "street": lambda original, rng, fake: fake.street_address(),
    "city": _city,
    "country": lambda original, rng, fake: fake.country(),
    "hospital": lambda original, rng, fake: f"Hospital {fake.last_name()}",
    "health_center": lambda original, rng, fake: f"Centro de Salud {fake.city()}",
    "institution": lambda original, rng, fake: fake.company(),
    "email": lambda original, rng, fake: fake.email(),
    "phone": lambda original, rng, fake: same_shape(original, rng),
    "identifier": lambda original, rng, fake: same_shape(original, rng),
    "url": lambda original, rng, fake: fake.url(),
    "profession": lambda original, rng, fake: fake.job(),
}
