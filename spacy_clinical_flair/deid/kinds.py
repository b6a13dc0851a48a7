"""What kind of value an entity label holds (a person's name, a date, an identifier...), and how a value is
normalised so that its spellings in one note ("Dr. José Pérez", "JOSE PEREZ") count as one value.

:data:`LABEL_KINDS` covers MEDDOCAN's labels and common English ones; a label not in it is of kind ``other``
(its surrogate falls back to a tag), and a pipeline's config may map more labels (``kinds``).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Dict, Mapping, Optional

#: Every kind a surrogate can be made for; ``other`` has none (the surrogate operator tags it instead).
KINDS = ("person", "relative", "age", "sex", "date", "street", "city", "country", "hospital", "health_center",
         "institution", "email", "phone", "identifier", "url", "profession", "other")

LABEL_KINDS: Dict[str, str] = {
    # MEDDOCAN (Spanish PHI, 2019)
    "NOMBRE_SUJETO_ASISTENCIA": "person", "NOMBRE_PERSONAL_SANITARIO": "person",
    "FAMILIARES_SUJETO_ASISTENCIA": "relative", "EDAD_SUJETO_ASISTENCIA": "age", "SEXO_SUJETO_ASISTENCIA": "sex",
    "FECHAS": "date", "CALLE": "street", "TERRITORIO": "city", "PAIS": "country", "HOSPITAL": "hospital",
    "CENTRO_SALUD": "health_center", "INSTITUCION": "institution", "CORREO_ELECTRONICO": "email",
    "NUMERO_TELEFONO": "phone", "NUMERO_FAX": "phone", "ID_SUJETO_ASISTENCIA": "identifier",
    "ID_CONTACTO_ASISTENCIAL": "identifier", "ID_ASEGURAMIENTO": "identifier",
    "ID_TITULACION_PERSONAL_SANITARIO": "identifier", "ID_EMPLEO_PERSONAL_SANITARIO": "identifier",
    "NUMERO_BENEF_PLAN_SALUD": "identifier", "OTRO_NUMERO_IDENTIF": "identifier",
    "IDENTIF_VEHICULOS_NRSERIE_PERSONAS": "identifier", "IDENTIF_DISPOSITIVOS_NRSERIE": "identifier",
    "IDENTIF_BIOMETRICOS": "identifier", "URL_WEB": "url", "DIREC_PROT_INTERNET": "url", "PROFESION": "profession",
    "OTROS_SUJETO_ASISTENCIA": "other",
    # common English names of the same kinds (i2b2 2014 and similar)
    "PERSON": "person", "NAME": "person", "PATIENT": "person", "DOCTOR": "person", "AGE": "age", "DATE": "date",
    "STREET": "street", "CITY": "city", "STATE": "city", "COUNTRY": "country", "HOSPITAL_NAME": "hospital",
    "ORGANIZATION": "institution", "EMAIL": "email", "PHONE": "phone", "FAX": "phone", "ID": "identifier",
    "MEDICALRECORD": "identifier", "IDNUM": "identifier", "URL": "url", "PROFESSION": "profession",
}

#: Titles before a name: kept in the output, left out of the name's normalised form.
TITLE = re.compile(r"^(?:(?:dra?|sra?|srta|dña|dn|d|don|doña|prof|profa)\.?\s+)+", re.IGNORECASE)


def kind_of(label: str, overrides: Optional[Mapping[str, str]] = None) -> str:
    """The kind of ``label``: from ``overrides``, else :data:`LABEL_KINDS`, else ``other``."""
    if overrides and label in overrides:
        return overrides[label]
    return LABEL_KINDS.get(label, "other")


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalise(kind: str, text: str) -> str:
    """The form under which two spellings of a value count as the same value: accents, case, spacing and
    surrounding punctuation ignored; titles ignored for names; only digits and letters for identifiers and
    phone numbers; only the number for ages."""
    plain = " ".join(strip_accents(text).casefold().split()).strip(" .,;:()[]\"'")
    if kind in ("person", "relative"):
        return TITLE.sub("", plain)
    if kind in ("identifier", "phone"):
        return re.sub(r"[^0-9a-z]", "", plain)
    if kind == "age":
        number = re.search(r"\d+", plain)
        return number.group() if number else plain
    return plain
