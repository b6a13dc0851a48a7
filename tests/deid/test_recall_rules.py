"""Recall rules on hand-made sentences (every expected span counted out by hand), how the deidentifier uses them,
and the document date shift that never writes another date of the note."""
import re

import pytest

from spacy_clinical_flair.deid.dates import shift_date
from spacy_clinical_flair.deid.deidentify import Deidentifier, DeidSettings
from spacy_clinical_flair.deid.keys import DeidKey
from spacy_clinical_flair.deid.leak import LeakReport, add_document
from spacy_clinical_flair.deid.recall_rules import rule_entities

KEY = DeidKey(b"a test key of more than sixteen bytes", given=True)


def test_an_age_and_an_occupation_after_it():
    text = "Varón de 45 años, carpintero, acude por dolor."
    #       0123456789012345678901234567890
    assert rule_entities(text, []) == [(9, 16, "EDAD_SUJETO_ASISTENCIA"), (18, 28, "PROFESION")]


def test_nothing_is_added_where_the_model_found_an_entity():
    text = "Varón de 45 años, carpintero, acude por dolor."
    assert rule_entities(text, [(9, 16, "EDAD_SUJETO_ASISTENCIA"), (18, 28, "PROFESION")]) == []
    assert rule_entities(text, [(6, 12, "OTRO")]) == [(18, 28, "PROFESION")]  # overlapping the age: left out


def test_a_month_alone_a_numeric_date_and_a_duration_that_is_not_an_age():
    text = "Ingresó en junio; alta el 2-3-07 tras un cuadro de 3 días."
    #       0123456789012345678901234567890123
    assert rule_entities(text, []) == [(11, 16, "FECHAS"), (26, 32, "FECHAS")]


def test_an_email_and_a_phone_number():
    text = "Correo: ana.perez@salud.es, Tfno. 954 123 456"
    #       0123456789012345678901234567890123456789012345
    assert rule_entities(text, []) == [(8, 26, "CORREO_ELECTRONICO"), (34, 45, "NUMERO_TELEFONO")]


def test_what_the_model_left_of_header_fields():
    text = "Domicilio: Calle Mayor, 3, 2º izq.\nCP: 28001."
    #       01234567890123456789012345678901234 5678901234
    # the street's number follows the found street; "2º izq" and the postal code are what the fields leave
    assert rule_entities(text, [(11, 22, "CALLE")]) == [(24, 25, "CALLE"), (27, 33, "CALLE"), (39, 44, "TERRITORIO")]


def test_a_field_value_stops_at_the_next_field_of_the_line():
    text = "Edad: 45 años Sexo: H."
    #       0123456789012345678901
    assert rule_entities(text, [(6, 13, "EDAD_SUJETO_ASISTENCIA"), (20, 21, "SEXO_SUJETO_ASISTENCIA")]) == []


def test_a_contact_line_keeps_titles_and_departments_and_replaces_the_rest():
    text = "Remitido por: Dr. Juan Pérez. Servicio de Urología. Avda. de la Paz 5, 28001 Madrid."
    #       0         1         2         3         4         5         6         7         8
    #       0123456789012345678901234567890123456789012345678901234567890123456789012345678901234
    found = [(18, 28, "NOMBRE_PERSONAL_SANITARIO")]
    assert rule_entities(text, found) == [(52, 69, "CALLE"), (71, 83, "CALLE")]
    assert text[52:69] == "Avda. de la Paz 5" and text[71:83] == "28001 Madrid"


def test_relatives_and_a_relatives_name():
    text = "Vive con su hermana mayor Lucía y dos hijos."
    #       012345678901234567890123456789012345678901
    assert rule_entities(text, []) == [(12, 25, "FAMILIARES_SUJETO_ASISTENCIA"), (26, 31, "FAMILIARES_SUJETO_ASISTENCIA"),
                                       (34, 43, "FAMILIARES_SUJETO_ASISTENCIA")]


def test_a_maker_and_its_town_in_parentheses():
    text = "Se pautó doxiciclina (Vibracina 100, Pfizer, Madrid)."
    #       0123456789012345678901234567890123456789012345678901
    assert rule_entities(text, []) == [(37, 43, "INSTITUCION"), (45, 51, "TERRITORIO")]


def test_the_deidentifier_applies_the_rules_unless_told_not_to():
    text = "Varón de 45 años que ingresó en junio."
    plain = Deidentifier(DeidSettings(default_operator="tag", recall_rules=False), KEY).deidentify(text, [], "d")
    assert plain.text == text and plain.replacements == []
    ruled = Deidentifier(DeidSettings(default_operator="tag"), KEY).deidentify(text, [], "d")
    assert ruled.text == "Varón de [EDAD_SUJETO_ASISTENCIA] que ingresó en [FECHAS]."
    assert [r.note for r in ruled.replacements] == ["found by a recall rule"] * 2


@pytest.mark.parametrize("key_number", range(30))
def test_a_document_date_shift_never_writes_another_date_of_the_note(key_number):
    text = "Ingresó en 2007, de nuevo en 2008 y en 2009; control en mayo de 2010."
    entities = [(11, 15, "FECHAS"), (29, 33, "FECHAS"), (39, 43, "FECHAS"), (56, 68, "FECHAS")]
    assert [text[s:e] for s, e, _ in entities] == ["2007", "2008", "2009", "mayo de 2010"]
    key = DeidKey(f"key number {key_number} for the date shift test".encode(), given=True)
    result = Deidentifier(DeidSettings(), key).deidentify(text, entities, "doc:x")
    new_dates = [r.new_text for r in result.replacements]
    for old in ("2007", "2008", "2009", "mayo de 2010"):  # no date value of the note is left in the output
        assert re.search(rf"(?<!\w){old}(?!\w)", result.text) is None, (new_dates, result.date_shift_days)
    # one shift for the whole note: the intervals between its dates are kept
    assert new_dates == [shift_date(text[s:e], result.date_shift_days) for s, e, _ in entities]


def test_a_patient_scope_keeps_its_one_shift_even_when_a_date_lands_on_another():
    deidentifier = Deidentifier(DeidSettings(), KEY)
    text = "Ingresó en 2007 y en 2009."
    result = deidentifier.deidentify(text, [(11, 15, "FECHAS"), (21, 25, "FECHAS")], "patient:7")
    assert result.date_shift_days == deidentifier.date_shift("patient:7")


def test_month_and_year_written_with_a_dash():
    assert shift_date("febrero-07", 400) == "marzo-08"  # 15 Feb 2007 + 400 days = 21 Mar 2008
    assert shift_date("En diciembre-2002 ingresa", -400) == "En noviembre-2001 ingresa"  # 15 Dec 2002 - 400 = 10 Nov 2001


def test_one_letter_gold_strings_are_counted_apart_not_searched():
    text = "Sexo: H. Tiene H. pylori."
    result = Deidentifier(DeidSettings(default_operator="tag", recall_rules=False, propagate=False)).deidentify(
        text, [(6, 7, "SEXO")], "d")
    assert result.text == "Sexo: [SEXO]. Tiene H. pylori."
    report = LeakReport()
    add_document(report, "d", text, [("SEXO", [(6, 7)])], result)
    total = report.total()
    assert (total.surviving_chars, total.strings, total.unsearched_strings, total.strings_in_output) == (0, 1, 1, 0)
    assert report.found_but_present == []


def test_a_place_after_residente_en_and_a_company_by_its_legal_form():
    text = "Paciente residente en la ciudad de Medellín, sin antecedentes."
    #       0123456789012345678901234567890123456789012
    assert rule_entities(text, []) == [(35, 43, "TERRITORIO")]
    text = "con el dispositivo (KCI Clinic Spain SL) en modo continuo"
    #       0123456789012345678901234567890123456789
    assert rule_entities(text, []) == [(20, 39, "INSTITUCION")]


def test_the_maker_after_a_registered_product_is_replaced_and_the_product_kept():
    text = "brinzolamida (Azopt®, Alcon Cusi) cada 12 horas"
    #       012345678901234567890123456789012
    assert rule_entities(text, []) == [(22, 32, "INSTITUCION")]


def test_relatives_as_a_noun_but_not_family_history():
    text = "Se informó a los familiares del pronóstico."
    #       01234567890123456789012345678
    assert rule_entities(text, []) == [(17, 27, "FAMILIARES_SUJETO_ASISTENCIA")]
    assert rule_entities("Sin antecedentes familiares de interés.", []) == []


def test_two_names_after_a_relative():
    text = "Se habló con sus padres Teresa y Juan Carlos."
    #       012345678901234567890123456789012345678901234
    assert rule_entities(text, []) == [(17, 23, "FAMILIARES_SUJETO_ASISTENCIA"), (24, 44, "FAMILIARES_SUJETO_ASISTENCIA")]


def test_professions_after_de_profesion_and_trabajaba_como():
    text = "Varón de 45 años, de profesión camionero, acude"
    #       01234567890123456789012345678901234567890
    assert rule_entities(text, []) == [(9, 16, "EDAD_SUJETO_ASISTENCIA"), (31, 40, "PROFESION")]
    text = "Trabajaba como auxiliar de enfermería desde 2001."
    #       0123456789012345678901234567890123456789
    assert rule_entities(text, []) == [(15, 37, "PROFESION")]


def test_an_age_in_years_after_a_los_but_not_a_follow_up_in_months():
    text = "Esplenectomía a los 8 años por talasemia. Control a los 6 meses de la cirugía."
    #       012345678901234567890123456
    assert rule_entities(text, []) == [(20, 26, "EDAD_SUJETO_ASISTENCIA")]


def test_a_makers_address_after_a_registered_product_and_a_list_of_tests_left_alone():
    text = "injerto KeraOs® (Keramat, Coruña, España) y"
    #       01234567890123456789012345678901234567890
    assert rule_entities(text, []) == [(17, 24, "INSTITUCION"), (26, 32, "TERRITORIO"), (34, 40, "PAIS")]
    assert rule_entities("serologías (CMV, VIH, VEB) negativas", []) == []


def test_a_national_centre():
    text = "Se consultó al Centro Nacional de Toxicología."
    #       0123456789012345678901234567890123456789012345
    assert rule_entities(text, []) == [(15, 45, "INSTITUCION")]


def test_an_age_before_what_happened_at_it_and_a_marked_maker_inside_a_parenthesis():
    text = "Tío materno intervenido a los 34 años de catarata."
    #       012345678901234567890123456789012345678
    assert rule_entities(text, []) == [(0, 11, "FAMILIARES_SUJETO_ASISTENCIA"), (30, 37, "EDAD_SUJETO_ASISTENCIA")]
    text = "distractor (MODUS ARS 1.5; Medartis®, Basel, Suiza) se"
    #       01234567890123456789012345678901234567890123456789
    assert rule_entities(text, []) == [(27, 35, "INSTITUCION"), (38, 43, "TERRITORIO"), (45, 50, "PAIS")]
