"""Recall rules: PHI that a model tends to miss, found by context, added to the model's entities before replacing.

A de-identification that leaks is worse than one that replaces a little too much, so the deidentifier can add,
where no entity of the model lies, spans that these rules find (``recall_rules``, on by default). Each rule is a
regular expression over the text whose group ``phi`` is the span and whose label says what it is; the rules were
chosen on MEDDOCAN **dev**, by which gold PHI the shipped model left in the output (``benchmarks/deid_leak.py``),
and **train**, by how much of each label's gold they cover on their own and what else they match:

- relatives (``FAMILIARES_SUJETO_ASISTENCIA``): a kinship word (``madre``, ``hermanos``, ``pareja``, ...) with a
  following ``mayor``/``menor``/``materno``/... and a preceding count (``dos hermanas``);
- ages (``EDAD_SUJETO_ASISTENCIA``): a number (digits or words) of years, months, weeks or days after ``edad de``,
  ``tenía``, a noun for the patient (``niño de``, ``varón de``, ``lactante de``), or followed by ``de edad`` /
  ``de vida``, and years after ``a los``/``desde los`` (``a los 36 años``); a duration (``cuadro de 3 días``,
  ``a los 3 meses de la intervención``) has none of these;
- origin (``OTROS_SUJETO_ASISTENCIA``): a colour or origin adjective (``caucásica``, ``ecuatoriana``) after ``raza``,
  ``origen``, ``nacionalidad``, ``procedencia`` or right after a noun for the patient (``mujer caucásica``);
- makers and their towns (``INSTITUCION``, ``TERRITORIO``): the capitalised segments after the first in a
  parenthesis of three or more (``(Vibracina 100, Pfizer, Madrid)``) or of two after a product marked ``®``
  (``(Azopt®, Alcon Cusi)``); the product itself is kept, and a company by its legal form (``Bedfont Scientific
  Ltd``);
- occupations (``PROFESION``): a job of Faker's Spanish list or a few common ones (``ama de casa``) after
  ``ocupación:`` or right after an age (``varón de 78 años, carpintero``), the phrase after ``de profesión``,
  ``trabajaba como``, ``se dedicaba a``, and a few jobs that are hardly anything else (``militar``) anywhere;
- months (``FECHAS``): a month name alone (``en junio``), which the date shifter moves like any date, numeric and
  month-year dates (``2-3-07``, ``sep-04``);
- e-mails and phone numbers by their shape; a place after ``residente en``, ``natural de``, ``ciudad de``...; a
  name after ``de nombre`` or ``llamado``;
- after the model's entities: a street's number after a street, an acronym in parentheses after any entity;
- header fields and contact lines (:func:`_gap_spans`): what the model left of them.
"""
from __future__ import annotations

import bisect
import re
from functools import lru_cache
from typing import List, Pattern, Sequence, Tuple

from .spans import claim

Entity = Tuple[int, int, str]

_KIN = (r"madres?|padres?|bisabuel[oa]s?|herman[oa]s?|hij[oa]s?|espos[oa]s?|marido|pareja|abuel[oa]s?|t[ií][oa]s?|prim[oa]s?|"
        r"sobrin[oa]s?|niet[oa]s?|cuñad[oa]s?|suegr[oa]s?|familia|progenitor(?:es|a)?|hermanastr[oa]s?")
_KIN_AFTER = r"mayor(?:es)?|menor(?:es)?|matern[oa]s?|patern[oa]s?|gemel[oa]s?|var[oó]n|varones|mujer|mujeres"
_COUNT = r"un[oa]?|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|\d{1,2}"
_NUMBER = (r"\d{1,3}(?:[.,]\d)?|un[oa]?|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|"
           r"quince|dieci\w+|veinti\w+|veinte|treinta(?: y \w+)?|cuarenta(?: y \w+)?|cincuenta(?: y \w+)?|"
           r"sesenta(?: y \w+)?|setenta(?: y \w+)?|ochenta(?: y \w+)?|noventa(?: y \w+)?|primer|segundo|tercer|"
           r"cuarto|quinto|sexto")
_UNIT = r"años|año|meses|mes|semanas|semana|días|día"
_AGE = rf"(?:{_NUMBER})\s+(?:{_UNIT})(?:\s+y\s+(?:{_NUMBER})\s+(?:{_UNIT}))?"
_PATIENT = (r"niñ[oa]|varón|var[oó]n|mujer|hombre|paciente|lactante|chic[oa]|joven|neonato|adolescente|"
            r"señor[a]?|ancian[oa]|bebé|recién nacid[oa]|gestante|primigesta|adulto")
_ORIGIN = (r"caucásic[oa]s?|caucasian[oa]s?|blanc[oa]s?|negr[oa]s?|mestiz[oa]s?|gitan[oa]s?|oriental(?:es)?|"
           r"asiátic[oa]s?|africana?s?|subsahariana?s?|latinoamerican[oa]s?|hispan[oa]s?|árabes?|magrebíe?s?|"
           r"ecuatorian[oa]s?|colombian[oa]s?|marroquíe?s?|rumanos?|rumanas?|peruan[oa]s?|bolivian[oa]s?|"
           r"argentin[oa]s?|venezolan[oa]s?|cuban[oa]s?|dominican[oa]s?|chin[oa]s?|paquistaníe?s?|pakistaníe?s?|"
           r"nigerian[oa]s?|senegales[a]?|alemana?s?|francés|francesa|británic[oa]s?|ingles[a]?|italian[oa]s?|"
           r"portugues[a]?|brasileñ[oa]s?|mexican[oa]s?|español[a]?")
_NAME = r"(?-i:[A-ZÁÉÍÓÚÑ][a-záéíóúñü]+(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñü]+){0,3})"
_BODIES = (r"(?-i:Instituto|Institut|Universidad|Universitat|Facultad|Fundación|Fundació|Consejo|Colegio|Academia|"
           r"Asociación|Sociedad|Centros?|Agencia|Ministerio|Consejería|Conselleria|Laboratorios?|Juzgado)")
_CAP_WORDS = (r"(?-i:[A-ZÁÉÍÓÚÑ][\w\-]*(?:\s+(?:(?:de|del|de\s+la|y|i|d')\s+)?[A-ZÁÉÍÓÚÑ][\w\-]*)*)")
#: A place name: capitalised words, with ``de``/``del``/``de la`` between them (``San Sebastián de los Reyes``).
_PLACE = (r"(?-i:[A-ZÁÉÍÓÚÑ][\wáéíóúñü\-]+(?:\s+(?:de\s+(?:la\s+|los\s+|las\s+)?|del\s+)?"
          r"[A-ZÁÉÍÓÚÑ][\wáéíóúñü\-]+){0,3})")
#: A company: up to five capitalised words and a legal form (``Bedfont Scientific Ltd``, ``KCI Clinic Spain SL``).
_COMPANY = (r"(?-i:[A-ZÁÉÍÓÚÑ][\w&\-]*(?:\s+[A-ZÁÉÍÓÚÑ&][\w&.\-]*){0,4}\s+(?:S\.\s?L|SL|S\.\s?A|SA|SAU|SLU|Inc|"
            r"Ltd|GmbH|GMBH|Corporation|Corp|AG|BV|NV|SpA|Ltda)\.?)")
#: A short phrase up to the next punctuation: what follows "de profesión", "trabajaba como"...
_PHRASE = r"[\wáéíóúñü]+(?:\s+[\wáéíóúñü]+){0,5}?(?=\s*[,.;:()]|\s+(?:y|que|desde|durante|con|sin|hasta)\b|$)"
#: Occupations that are hardly anything else, replaced wherever they stand.
_JOBS_ANYWHERE = (r"militar(?:es)?|bomber[oa]s?|guardia\s+civil|camioner[oa]s?|taxistas?|albañil(?:es)?|"
                  r"agricultor(?:es|a)?|ganader[oa]s?|pescador(?:es|a)?|mineros?|carpinter[oa]s?|soldador(?:es|a)?|"
                  r"azafatas?|peluquer[oa]s?|camarer[oa]s?|cociner[oa]s?|fontaner[oa]s?|electricistas?|deportistas?|"
                  r"futbolistas?|jugador(?:es|a)?\s+de\s+fútbol|ama\s+de\s+casa")
_MONTHS = r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"
_MONTH_ABBREVIATIONS = r"ene|feb|mar|abr|may|jun|jul|ago|sept?|set|oct|nov|dic"
_PHONE = r"\+?\s*\d[\d .()\-]{5,}\d"
_CAP = r"[A-ZÁÉÍÓÚÑ][\w&'.\-]*(?:\s+(?:[A-ZÁÉÍÓÚÑ&][\w&'.\-]*|y|and|de|del))*"
_ADDRESS_LABELS = {"CALLE", "NOMBRE_PERSONAL_SANITARIO"}
_SEGMENT_SPLIT = re.compile(r"[,;]\s*|\.\s+(?=[A-ZÁÉÍÓÚÑ])")
#: A product as a maker's parenthesis opens with it: a registered mark, or a capitalised name and a model number.
_PRODUCT = re.compile(r"®|\b[A-ZÁÉÍÓÚÑ][\w\-]*\s+\d")
_COUNTRY = re.compile(r"España|Spain|Suiza|Switzerland|Alemania|Germany|Francia|France|Italia|Italy|EE\.?\s?UU|USA|"
                      r"U\.S\.A|Reino Unido|UK|England|Inglaterra|Jap[oó]n|Japan|Suecia|Sweden|Dinamarca|Denmark|"
                      r"Holanda|Países Bajos|Netherlands|B[eé]lgica|Belgium|Austria|Israel|Canad[aá]|Brasil|Brazil|"
                      r"Argentina|M[eé]xico|Chile|Irlanda|Ireland|Finlandia|Finland|Noruega|Norway|China|Corea|Korea|"
                      r"Australia|Portugal|[A-Z]{2}")  # or a state's two letters: "(Stratus OCT; Carl Zeiss Meditec, Dublin, CA)"
_PAREN = re.compile(r"\(([^()\n]{3,160})\)")
_OTHER_JOBS = ("ama de casa", "sus labores", "jubilado", "jubilada", "estudiante", "hogar", "militar", "camionero",
               "camarero", "camarera", "agricultor", "ganadero", "pastor", "albañil", "carpintero", "pescador",
               "minero", "enfermero", "enfermera", "médico", "maestro", "maestra", "profesor", "profesora",
               "dependienta", "dependiente", "azafata", "peluquera", "peluquero", "cocinero", "cocinera", "pintor",
               "mecánico", "soldador", "electricista", "fontanero", "conductor", "taxista", "policía", "abogado",
               "administrativo", "administrativa", "funcionario", "funcionaria", "limpiadora", "costurera",
               "panadero", "carnicero", "veterinario", "ingeniero", "arquitecto", "auxiliar de enfermería",
               "trabajador de la construcción", "empleado", "empleada", "comerciante", "vendedor", "vendedora")


def _words(*alternatives: str) -> str:
    return "|".join(sorted((re.escape(a) for a in alternatives), key=len, reverse=True))


@lru_cache(maxsize=1)
def _job_pattern() -> str:
    """Faker's Spanish occupations (lower case) and a few common in clinical notes, longest first."""
    try:
        from faker.providers.job.es import Provider

        jobs = {job.lower() for job in Provider.jobs if len(job) >= 4}
    except ImportError:  # Faker is a dependency of deid; the fixed list still works without it
        jobs = set()
    return _words(*jobs, *_OTHER_JOBS)


@lru_cache(maxsize=1)
def compiled_rules() -> List[Tuple[str, Pattern[str]]]:
    """(label, pattern with group ``phi``), in the order they are applied."""
    flags = re.IGNORECASE
    rules = [
        ("EDAD_SUJETO_ASISTENCIA", rf"(?:\bedad\s+de|\btenía|\bcumplir|\bcumplidos)\s+"
                                   rf"(?P<phi>{_AGE})\b"),
        ("EDAD_SUJETO_ASISTENCIA", rf"\b(?:{_PATIENT})(?:[\s,]+de\s+(?:raza\s+\w+|sexo\s+\w+)[\s,]*|\s+\w+)?[\s,]+de\s+"
                                   rf"(?P<phi>{_AGE})\b"),
        ("EDAD_SUJETO_ASISTENCIA", rf"(?P<phi>\b{_AGE})\s+de\s+(?:edad|vida)\b"),
        ("EDAD_SUJETO_ASISTENCIA", rf"\bal\s+(?P<phi>(?:{_NUMBER})\s+(?:{_UNIT}))\s+de\s+vida\b"),
        # "a los 36 años se sometió...", "desde los 5 años": years (months and days there are mostly follow-up)
        ("EDAD_SUJETO_ASISTENCIA", rf"\b(?:a|desde|hasta|entre)\s+los\s+(?P<phi>(?:{_NUMBER})(?:\s+años)?"
                                   rf"(?:\s+(?:y|a\s+los)\s+(?:{_NUMBER}))?\s+años(?:\s+de\s+edad)?)\b"
                                   rf"(?!\s+(?:de\s+(?:la|el|los|las|su|sus|haber|evoluci|seguimiento|tratamiento|"
                                   rf"diagn|iniciar|comenzar)|después|tras|antes|posteriores|del\b))"),
        ("EDAD_SUJETO_ASISTENCIA", rf"\b(?:contaba\s+con|edad:?)\s+(?P<phi>{_AGE})\b"),
        ("FAMILIARES_SUJETO_ASISTENCIA", rf"(?P<phi>\b(?:(?:{_COUNT})\s+(?:de\s+(?:sus|los)\s+)?)?(?:{_KIN})"
                                         rf"(?:\s+(?:{_KIN_AFTER}))?)\b"),
        ("OTROS_SUJETO_ASISTENCIA", rf"\b(?:raza|origen|nacionalidad|procedencia|etnia)\s+(?P<phi>(?:{_ORIGIN}))\b"),
        ("OTROS_SUJETO_ASISTENCIA", rf"\b(?:{_PATIENT})\s+(?P<phi>(?:{_ORIGIN}))\b"),
        ("PROFESION", rf"(?:\bocupación|\bprofesión|\btrabaja\s+como|\btrabajaba\s+como)\s*:?\s*"
                      rf"(?P<phi>(?:{_job_pattern()}))\b"),
        ("PROFESION", rf"\b(?:{_UNIT})(?:\s+de\s+edad)?,\s*(?:de\s+profesión\s+)?(?P<phi>(?:{_job_pattern()}))\b"),
        ("PROFESION", rf"\bde\s+profesi[oó]n\s*:?\s+(?:trabajaba\s+)?(?P<phi>{_PHRASE})"),
        ("PROFESION", r"(?P<phi>\b[\wáéíóúñ]+)\s+de\s+profesi[oó]n\b"),
        ("PROFESION", rf"\b(?:trabaja|trabajaba|trabajó|empleado|empleada|emplead[oa]s?\s+temporales)\s+(?:como|de)\s+"
                      rf"(?:(?:un|una|miembro\s+de\s+la|miembro\s+del)\s+)?(?P<phi>{_PHRASE})"),
        ("PROFESION", rf"\bse\s+dedica(?:ba)?\s+a\s+(?:la\s+|las\s+|los\s+|el\s+)?(?P<phi>{_PHRASE})"),
        ("PROFESION", rf"\b(?P<phi>{_JOBS_ANYWHERE})\b"),
        ("FECHAS", rf"\b(?P<phi>(?:mes\s+de\s+)?(?:{_MONTHS}))\b"),
        ("FECHAS", r"(?<![\w/.-])(?P<phi>(?:0?[1-9]|[12]\d|3[01])(?P<sep>[-/])(?:0?[1-9]|1[0-2])(?P=sep)"
                   r"(?:19|20)?\d\d)(?![\w/-])"),
        ("FECHAS", rf"(?<![\w-])(?P<phi>(?:{_MONTH_ABBREVIATIONS})\.?[-/](?:19|20)?\d\d)(?![\w-])"),
        ("CORREO_ELECTRONICO", r"(?P<phi>[\w.+-]+@\s?[\w-]+(?:\.[\w-]+)+)"),
        ("NUMERO_FAX", rf"\bfax\s*:?\s*(?P<phi>{_PHONE})"),
        ("NUMERO_TELEFONO", rf"\b(?:tfno|telf|tlf|tel|teléfono|telefono|móvil)\.?\s*:?\s*(?P<phi>{_PHONE})"),
        ("NUMERO_TELEFONO", r"(?<![\w.,+-])(?P<phi>(?:\+?34[\s-]?)?[6-9]\d{2}(?:[ .]?\d{2,3}){2,3})(?![\w,]|\.\d)"),
        ("EDAD_SUJETO_ASISTENCIA", rf"\b(?:{_KIN})(?:\s+(?:{_KIN_AFTER}))?\s+de\s+(?P<phi>\d{{1,3}}(?:\s+(?:{_UNIT}))?)\b"),
        ("FAMILIARES_SUJETO_ASISTENCIA", r"\b(?:los|las|sus|su|el|un|una|varios|varias|algunos|otros|dos|tres|cuatro|"
                                         r"por)\s+(?P<phi>familiar(?:es)?)\b"),
        ("FAMILIARES_SUJETO_ASISTENCIA", rf"\b(?:{_KIN})(?:\s+(?:{_KIN_AFTER}))?(?:,)?\s+(?:de\s+nombre\s+|llamad[oa]\s+)?"
                                         rf"(?P<phi>{_NAME}(?:\s+y\s+{_NAME})?)"),
        ("OTROS_SUJETO_ASISTENCIA", r"\b(?P<phi>solter[oa]|casad[oa]|viud[oa]|divorciad[oa]|separad[oa]|"
                                    r"heterosexual|homosexual|bisexual)\b"),
        ("TERRITORIO", rf"\b(?:residente\s+en|natural\s+de|procedente\s+de|vive\s+en|vecin[oa]\s+de|nacid[oa]\s+en|"
                       rf"originari[oa]\s+de|(?:ciudad|localidad|municipio|provincia|pueblo|isla|comarca)\s+de)\s+"
                       rf"(?:la\s+)?(?:ciudad\s+de\s+)?(?P<phi>{_PLACE})"),
        ("NOMBRE_SUJETO_ASISTENCIA", rf"\b(?:de\s+nombre|llamad[oa]|apodad[oa])\s+(?P<phi>{_NAME})"),
        ("INSTITUCION", rf"(?P<phi>{_COMPANY})(?!\w)"),
        ("INSTITUCION", rf"(?P<phi>\b(?:{_BODIES})\s+(?:(?:de|del|de\s+la|de\s+las|de\s+los|d'|i)\s+)?{_CAP_WORDS})"),
    ]
    return [(label, re.compile(pattern, flags)) for label, pattern in rules]


def rule_entities(text: str, entities: Sequence[Entity]) -> List[Entity]:
    """The spans the rules find in ``text`` that overlap none of ``entities`` nor each other (earlier rules and
    longer spans first), as ``(start, end, label)``; then what is left uncovered of header fields and contact
    lines (:func:`_gap_spans`)."""
    taken = sorted((start, end) for start, end, _ in entities)
    added = [(start, end, label) for label, start, end in _after_entities(text, entities) + _candidates(text)
             if end > start and claim(start, end, taken)]
    added += [(start, end, label) for label, start, end in _gap_spans(text, taken)]
    return sorted(added)


def _candidates(text: str) -> List[Tuple[str, int, int]]:
    found = [(label, match.start("phi"), match.end("phi"))
             for label, pattern in compiled_rules() for match in pattern.finditer(text)]
    return found + _maker_spans(text)


_ADDRESS_TAIL = re.compile(r"(?P<phi>,?\s*(?:n[º°o]\.?\s*)?\d+[A-Za-z]?(?:[-/]\d+)?(?:,?\s*(?:apto|apdo|piso|esc|"
                           r"escalera|interior|int|puerta|pta|bajo|planta|izq|izda|dcha|der)\.?\s*[\wº/]*)*)",
                           re.IGNORECASE)
_ACRONYM = re.compile(r"\s*\((?P<phi>[A-ZÁÉÍÓÚÑ]{2,}[A-ZÁÉÍÓÚÑ0-9\-]*)\)")


def _after_entities(text: str, entities: Sequence[Entity]) -> List[Tuple[str, int, int]]:
    """Right after an entity: a street's number, floor and door (``C/ Mayor 3102, Apto. 116``; also after a name or
    hospital, where an address line starts with one), and an acronym in parentheses, which takes the entity's label
    (``Complejo Hospitalario Universitario de Vigo (CHUVI)``)."""
    spans: List[Tuple[str, int, int]] = []
    for _, end, label in entities:
        acronym = _ACRONYM.match(text, end)
        if acronym:
            spans.append((label, acronym.start("phi"), acronym.end("phi")))
        elif label in _ADDRESS_LABELS:
            tail = _ADDRESS_TAIL.match(text, end)
            if tail and tail.end("phi") > end and any(char.isdigit() for char in tail.group("phi")):
                spans.append(("CALLE", end + len(tail.group("phi")) - len(tail.group("phi").lstrip(", ")),
                              tail.end("phi")))
    return spans


def _maker_spans(text: str) -> List[Tuple[str, int, int]]:
    """In a parenthesis of three or more parts (split at commas, semicolons and full stops) that opens with a product
    (``®``, or a name and a model number) or ends in a country, or of two whose first carries ``®``, the
    capitalised parts after the first (maker, town, country; the product is kept):
    ``(Vibracina 100, Pfizer, Madrid)``, ``(Azopt®, Alcon Cusi)``. Where the parenthesis is a maker's address, the
    first part is the maker: three parts ending in a country (``(Keramat, Coruña, España)``), or any number right
    after a product marked ``®`` (``KeraOs® (Keramat, Coruña, España)``)."""
    spans: List[Tuple[str, int, int]] = []
    for match in _PAREN.finditer(text):
        parts = _parts(match.group(1), match.start(1))
        if len(parts) < 2 or (len(parts) == 2 and "®" not in parts[0][0]):
            continue
        after_mark = _mark_before(text, match.start())
        ends_in_country = _COUNTRY.fullmatch(parts[-1][0].strip().rstrip(".")) is not None
        if not (after_mark or ends_in_country or _PRODUCT.search(parts[0][0])):  # "(CMV, VIH, VEB)": a list
            continue
        address = after_mark or (len(parts) == 3 and ends_in_country)
        first_maker = int(address)  # the index of the maker among the parts
        for index, (piece, start) in enumerate(parts[1 - first_maker:], start=1 - first_maker):
            stripped = piece.strip().rstrip(".").rstrip("®").rstrip()  # "(MODUS ARS 1.5; Medartis®, Basel, Suiza)"
            if not re.fullmatch(_CAP, stripped) or any(char.isdigit() for char in stripped):
                continue
            label = ("INSTITUCION" if index == 1 - first_maker else
                     "PAIS" if _COUNTRY.fullmatch(stripped) and len(stripped) > 2 else "TERRITORIO")
            spans.append((label, start, start + len(stripped)))
    return spans


def _mark_before(text: str, position: int) -> bool:
    """Whether the last character before ``position``, spaces skipped, is ``®`` (without copying the text)."""
    while position > 0 and text[position - 1].isspace():
        position -= 1
    return position > 0 and text[position - 1] == "®"


def _parts(inner: str, offset: int) -> List[Tuple[str, int]]:
    """The parts of a parenthesis' text with their offsets in the document."""
    parts, position = [], 0
    for piece in _SEGMENT_SPLIT.split(inner):
        start = inner.index(piece, position)
        parts.append((piece, offset + start))
        position = start + len(piece)
    return parts


#: Header fields whose whole value is PHI, and the label of what the model left of it.
_FIELDS = {"domicilio": "CALLE", "dirección": "CALLE", "localidad/ provincia": "TERRITORIO",
           "localidad": "TERRITORIO", "provincia": "TERRITORIO", "cp": "TERRITORIO", "nhc": "ID_SUJETO_ASISTENCIA",
           "nass": "ID_ASEGURAMIENTO", "cipa": "ID_SUJETO_ASISTENCIA", "nombre": "NOMBRE_SUJETO_ASISTENCIA",
           "apellidos": "NOMBRE_SUJETO_ASISTENCIA", "edad": "EDAD_SUJETO_ASISTENCIA",
           "fecha de nacimiento": "FECHAS", "fecha de ingreso": "FECHAS", "país": "PAIS",
           "país de nacimiento": "PAIS"}
_FIELD_LINE = re.compile(r"^[ \t\ufeff]*(?P<field>[^\n:]{2,25}?)[ \t]*:[ \t]*(?P<value>[^\n]*?)[ .\t]*$", re.MULTILINE)
#: Lines that hold an author's or a referring doctor's contact details.
_CONTACT_LINE = re.compile(r"^[ \t]*(?:remitido\s+por|responsable\s+cl[ií]nico|correspondencia|autor\s+para\s+"
                           r"correspondencia)\b[^\n]*|^[^\n]*[\w.+-]+@\s?[\w-]+\.[\w.-]+[^\n]*",
                           re.IGNORECASE | re.MULTILINE)
_CHUNK_SPLIT = re.compile(r"[,;()\[\]]|(?<!\bavda)(?<!\bav)(?<!\bpza)(?<!\bpz)(?<!\bctra)(?<!\burb)(?<!\bcol)"
                          r"(?<!\bed)(?<!\bedif)(?<!\besc)(?<!\bc)\.(?:\s|$)|\s[-–]\s|\s{2,}|\b(?:e-?mail|correo\s+electr[oó]nico|"
                          r"tfno|tel[eé]fono|tel|fax)\b\.?:?", re.IGNORECASE)
#: Chunks of a contact line that are not PHI: titles, a department or specialty, words of the form.
_NOT_PHI_CHUNK = re.compile(r"^(?:dr|dra|dña|dn|d|prof|sr|sra)\.?$|^(?:servicio|servei|unidad|unitat|secci[oó]n|"
                            r"secci[oó]|departamento|departament|dpto|área|c[aá]tedra|laboratorio|consulta|planta|"
                            r"residente|financiaci[oó]n|conflicto|e|direcci[oó]n|correos?|telf|tlf|c\.?\s?p|jefe|jefa|especialista|"
                            r"terapia|reanimaci[oó]n|dolor|secretar[ií]a|department|division|adjunt[oa]|m[eé]dic[oa]|"
                            r"facultativ[oa]|mir|profesor|profesora|cuidados|investigador[a]?|autor[a]?|email)\b|^\w*log[ií]a\b|^(?:cirug[ií]a|pediatr[ií]a|"
                            r"psiquiatr[ií]a|medicina|anatom[ií]a|enfermer[ií]a|farmacia|obstetricia|urgencias|"
                            r"rehabilitaci[oó]n|nutrici[oó]n|patolog[ií]a)\b", re.IGNORECASE)


def _gap_spans(text: str, taken: List[Tuple[int, int]]) -> List[Tuple[str, int, int]]:
    """What no entity covers in places that hold nothing but PHI: the value of a header field (``Domicilio:``,
    ``Localidad/ Provincia:``, ``NHC:``...) under the field's label, and the capitalised or numbered chunks of a
    contact line (``Remitido por:``, ``Responsable clínico:``, or any line with an e-mail address) that are not a
    title, a department or a specialty: a number gives ``CALLE`` (``TERRITORIO`` for a postal code), an ``@``
    ``CORREO_ELECTRONICO``, anything else ``TERRITORIO``."""
    spans: List[Tuple[str, int, int]] = []
    for match in _FIELD_LINE.finditer(text):
        label = _FIELDS.get(" ".join(match.group("field").lower().split()))
        if label is None:
            continue
        value_end = match.end("value")
        # "Edad: 45 años Sexo: H", "Edad:  Sexo:": the value ends where the next field of the line begins
        next_field = _NEXT_FIELD.search(text, match.start("value") - 1, value_end)
        value_stop = max(match.start("value"), next_field.start()) if next_field else value_end
        for start, end in _uncovered(match.start("value"), value_stop, taken):
            spans += [(label, a, b) for a, b in _chunks(text, start, end)]
    for match in _CONTACT_LINE.finditer(text):
        line_start = text.find(":", match.start(), match.end()) + 1 or match.start()
        for start, end in _uncovered(line_start, match.end(), taken):
            spans += [(_chunk_label(text[a:b]), a, b) for a, b in _chunks(text, start, end)
                      if _contact_chunk(text[a:b])]
    return _without_overlaps(spans)


_NEXT_FIELD = re.compile(r"\s+[A-ZÁÉÍÓÚÑ][\w/ ]{1,25}:")


def _contact_chunk(chunk: str) -> bool:
    """Whether a chunk of a contact line may be PHI: a number, an e-mail, or capitalised and longer than one
    letter, and not a title, a department, a specialty or a word of the form."""
    if any(char.isdigit() for char in chunk) or "@" in chunk:
        return True
    return len(chunk) > 1 and chunk[0].isupper() and not _NOT_PHI_CHUNK.match(chunk)


def _uncovered(start: int, end: int, taken: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """The stretches of ``start``-``end`` that no span of ``taken`` covers."""
    pieces, position = [], start
    for s, e in taken[max(bisect.bisect_left(taken, (start, start)) - 1, 0):]:
        if s >= end:
            break
        if e > position:
            pieces.append((position, min(s, end)))
            position = max(position, e)
    pieces.append((position, end))
    return [(s, e) for s, e in pieces if e > s]


def _chunks(text: str, start: int, end: int) -> List[Tuple[int, int]]:
    """``start``-``end`` split at punctuation and form words, each piece stripped, those with a letter or digit."""
    pieces, position = [], start
    for match in _CHUNK_SPLIT.finditer(text, start, end):
        pieces.append((position, match.start()))
        position = match.end()
    pieces.append((position, end))
    stripped = []
    for s, e in pieces:
        piece = text[s:e]
        left = len(piece) - len(piece.lstrip(" \t.:-–/"))
        right = len(piece.rstrip(" \t.:-–/"))
        if right > left and any(char.isalnum() for char in piece[left:right]):
            stripped.append((s + left, s + right))
    return stripped


def _chunk_label(chunk: str) -> str:
    if "@" in chunk:
        return "CORREO_ELECTRONICO"
    if re.fullmatch(r"(?:[A-Z]{1,2}-?)?\d{4,5}", chunk):
        return "TERRITORIO"
    return "CALLE" if any(char.isdigit() for char in chunk) else "TERRITORIO"


def _without_overlaps(spans: List[Tuple[str, int, int]]) -> List[Tuple[str, int, int]]:
    """``spans`` less each one that overlaps an earlier one."""
    taken: List[Tuple[int, int]] = []
    return [(label, start, end) for label, start, end in spans if claim(start, end, taken)]
