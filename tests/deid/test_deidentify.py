"""The operators on a hand-made note (expected texts written out by hand), consistency within a document and
across documents of a patient, date intervals kept, the report's offsets, and the key."""
import datetime as dt
import hashlib
import hmac
import re

import pytest

from spacy_clinical_flair.deid.deidentify import Deidentifier, DeidSettings
from spacy_clinical_flair.deid.keys import DeidKey, DeidKeyError, load_key
from spacy_clinical_flair.deid.kinds import normalise

NAME, AGE, DATE, ID = "NOMBRE_SUJETO_ASISTENCIA", "EDAD_SUJETO_ASISTENCIA", "FECHAS", "ID_SUJETO_ASISTENCIA"
NOTE = "Paciente: Juan Pérez, 45 años. Ingreso el 12/05/2018 (NHC 123-45)."
#        0123456789012345678901234567890123456789012345678901234567890123456
ENTITIES = [(10, 20, NAME), (22, 29, AGE), (42, 52, DATE), (58, 64, ID)]
KEY = DeidKey(b"a test key of more than sixteen bytes", given=True)


def test_the_hand_made_entities_are_where_the_note_says():
    assert [NOTE[start:end] for start, end, _ in ENTITIES] == ["Juan Pérez", "45 años", "12/05/2018", "123-45"]


@pytest.mark.parametrize("operator,expected", [
    ("tag", "Paciente: [NOMBRE_SUJETO_ASISTENCIA], [EDAD_SUJETO_ASISTENCIA]. Ingreso el [FECHAS] "
            "(NHC [ID_SUJETO_ASISTENCIA])."),
    ("mask", "Paciente: **********, *******. Ingreso el ********** (NHC ******)."),
    ("redact", "Paciente: , . Ingreso el  (NHC )."),
    ("keep", NOTE),
])
def test_each_operator_on_a_hand_made_note(operator, expected):
    result = Deidentifier(DeidSettings(default_operator=operator)).deidentify(NOTE, ENTITIES, "p1")
    assert result.text == expected
    assert [r.operator for r in result.replacements] == [operator] * 4


def test_hash_is_the_keyed_hmac_of_the_normalised_value():
    result = Deidentifier(DeidSettings(default_operator="tag", operators={NAME: "hash"}), KEY).deidentify(
        NOTE, ENTITIES, "p1")
    digest = hmac.new(KEY.secret, f"hash\0{NAME}\0juan perez".encode(), hashlib.sha256).hexdigest()[:12]
    assert result.text.startswith(f"Paciente: [{NAME}:{digest}], [EDAD_SUJETO_ASISTENCIA].")
    other = Deidentifier(DeidSettings(default_operator="hash"), DeidKey(b"another key, also long enough", True))
    assert other.deidentify(NOTE, ENTITIES, "p1").text != result.text


def test_hash_without_a_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("CLINICAL_FLAIR_DEID_KEY", raising=False)
    with pytest.raises(DeidKeyError, match="hash operator needs a key"):
        Deidentifier(DeidSettings(operators={NAME: "hash"}), load_key())


def test_a_short_or_unreadable_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINICAL_FLAIR_DEID_KEY", "short")
    with pytest.raises(DeidKeyError, match="has 5 bytes"):
        load_key()
    with pytest.raises(DeidKeyError, match="cannot read"):
        load_key(file=tmp_path / "missing.key")
    (tmp_path / "k").write_text("  0123456789abcdef0123  \n")
    assert load_key(file=tmp_path / "k") == DeidKey(b"0123456789abcdef0123", True)


def test_an_unknown_operator_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown de-identification operator 'blur' for FECHAS: use one of redact"):
        DeidSettings(operators={"FECHAS": "blur"})


def test_report_offsets_point_at_each_replacement_and_the_rest_is_copied():
    result = Deidentifier(DeidSettings(), KEY).deidentify(NOTE, ENTITIES, "p1")
    copied, position = [], 0
    for replacement in result.replacements:
        assert result.text[replacement.new_start:replacement.new_end] == replacement.new_text
        assert NOTE[replacement.start:replacement.end] == replacement.text
        copied.append(NOTE[position:replacement.start])
        position = replacement.end
    pieces = re.split("|".join(re.escape(r.new_text) for r in result.replacements), result.text)
    assert pieces[:-1] == copied and pieces[-1] == NOTE[position:]


def test_surrogates_of_each_kind_differ_from_the_original_and_keep_their_shape():
    result = Deidentifier(DeidSettings(), KEY).deidentify(NOTE, ENTITIES, "p1")
    name, age, date, ident = (r.new_text for r in result.replacements)
    assert len(name.split()) == 2 and normalise("person", name) != "juan perez"
    assert age.endswith(" años") and int(age.split()[0]) in {46, 47, 48, 49}  # the band 45-49, not 45
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", date) and date != "12/05/2018"
    assert re.fullmatch(r"\d{3}-\d{2}", ident) and ident != "123-45"
    old = Deidentifier(DeidSettings(), KEY).deidentify("92 años", [(0, 7, AGE)], "p1")
    assert old.text == "más de 89 años"


def test_one_value_gets_one_surrogate_within_a_document():
    text = "Juan Pérez vino. Dr. JUAN PEREZ firmó. Juan Perez volvió. Ana Gil también."
    spans = [(m.start(), m.end(), NAME) for m in re.finditer(r"(?:Dr\. )?(?:Juan Pérez|JUAN PEREZ|Juan Perez|Ana Gil)",
                                                             text)]
    result = Deidentifier(DeidSettings()).deidentify(text, spans, "doc")
    juan = [r.new_text for r in result.replacements[:3]]
    assert juan[1].startswith("Dr. ") and juan[1][4:].isupper()
    assert len({normalise("person", new) for new in juan}) == 1
    assert normalise("person", result.replacements[3].new_text) != normalise("person", juan[0])


def test_notes_of_one_patient_share_surrogates_with_the_same_key_in_another_run():
    first = Deidentifier(DeidSettings(), KEY).deidentify("Juan Pérez, 12/05/2018.", [(0, 10, NAME), (12, 22, DATE)],
                                                         "patient:7")
    again = Deidentifier(DeidSettings(), DeidKey(KEY.secret, True))  # another run, the same key
    second = again.deidentify("Control de Juan Pérez el 3 de junio de 2019.", [(11, 21, NAME), (25, 43, DATE)],
                              "patient:7")
    assert first.replacements[0].new_text == second.replacements[0].new_text
    assert first.date_shift_days == second.date_shift_days
    other_patient = again.deidentify("Juan Pérez", [(0, 10, NAME)], "patient:8")
    assert other_patient.scope != first.scope


def test_date_shifting_keeps_the_intervals_between_a_patients_dates():
    deidentifier = Deidentifier(DeidSettings(), KEY)
    dates = ["12/05/2018", "01/06/2018", "24/12/2019"]
    shifted = [deidentifier.deidentify(d, [(0, 10, DATE)], "patient:7").text for d in dates]
    read = [dt.datetime.strptime(d, "%d/%m/%Y").date() for d in dates]
    moved = [dt.datetime.strptime(d, "%d/%m/%Y").date() for d in shifted]
    assert [b - a for a, b in zip(read, read[1:])] == [b - a for a, b in zip(moved, moved[1:])]
    offset = (moved[0] - read[0]).days
    assert 380 <= abs(offset) <= 700 and offset == deidentifier.date_shift("patient:7")


def test_a_date_of_unknown_form_and_a_kind_without_surrogate_are_tagged_with_a_note():
    result = Deidentifier(DeidSettings(), KEY).deidentify("hace 3 años; mestizo", [(5, 11, DATE), (13, 20, "OTROS")],
                                                          "p")
    assert result.text == "hace [FECHAS]; [OTROS]"
    assert [r.note for r in result.replacements] == ["not a date of a known form: tagged",
                                                     "no surrogate for kind 'other': tagged"]


def test_overlapping_entities_are_refused():
    with pytest.raises(ValueError, match="overlapping entities"):
        Deidentifier().deidentify("Juan Pérez", [(0, 10, NAME), (5, 10, NAME)], "p")


def test_other_mentions_of_a_found_text_are_replaced_too():
    text = "Juan Pérez ingresa. Pérez refiere dolor. Llamar a Juan Pérez. Sexo: M. Mide 45 cm. NHC 1234567, 1234567."
    found = [(0, 10, NAME), (68, 69, "SEXO_SUJETO_ASISTENCIA"), (76, 78, AGE), (87, 94, ID)]
    assert [text[s:e] for s, e, _ in found] == ["Juan Pérez", "M", "45", "1234567"]
    result = Deidentifier(DeidSettings(default_operator="tag")).deidentify(text, found, "d")
    # "Juan Pérez" again (50-60) and the second "1234567" (96-103) are replaced; "Pérez" alone is another text,
    # and "M" and "45" are too short to look for
    assert result.text == ("[NOMBRE_SUJETO_ASISTENCIA] ingresa. Pérez refiere dolor. Llamar a [NOMBRE_SUJETO_ASISTENCIA]. "
                           "Sexo: [SEXO_SUJETO_ASISTENCIA]. Mide [EDAD_SUJETO_ASISTENCIA] cm. NHC [ID_SUJETO_ASISTENCIA], "
                           "[ID_SUJETO_ASISTENCIA].")
    notes = [r.note for r in result.replacements]
    assert notes == ["", "another mention of a found entity", "", "", "", "another mention of a found entity"]
    unpropagated = Deidentifier(DeidSettings(default_operator="tag", propagate=False)).deidentify(text, found, "d")
    assert "Llamar a Juan Pérez." in unpropagated.text


def test_another_models_entities_are_added_where_the_first_found_nothing():
    text = "Juan Pérez vive en Lugo con Ana."
    found = [(0, 10, NAME)]
    # the second model: "Pérez" overlaps the found name; "en Lugo" (longer) wins over "Lugo"; "Ana" is new
    more = [(19, 23, "TERRITORIO"), (16, 23, "CALLE"), (28, 31, NAME), (5, 10, NAME)]
    assert [text[s:e] for s, e, _ in more] == ["Lugo", "en Lugo", "Ana", "Pérez"]
    result = Deidentifier(DeidSettings(default_operator="tag", recall_rules=False)).deidentify(text, found, "d", more)
    assert result.text == "[NOMBRE_SUJETO_ASISTENCIA] vive [CALLE] con [NOMBRE_SUJETO_ASISTENCIA]."
    assert [(r.text, r.note) for r in result.replacements] == [("Juan Pérez", ""), ("en Lugo", "found by another model"),
                                                               ("Ana", "found by another model")]
    alone = Deidentifier(DeidSettings(default_operator="tag", recall_rules=False)).deidentify(text, found, "d")
    assert alone.text == "[NOMBRE_SUJETO_ASISTENCIA] vive en Lugo con Ana."


@pytest.mark.parametrize("age,band", [("sesenta y tres años", {"sesenta", "sesenta y uno", "sesenta y dos",
                                                               "sesenta y cuatro"}),
                                      ("Siete años", {"Cinco", "Seis", "Ocho", "Nueve"}),
                                      ("un mes", {"cero", "dos", "tres", "cuatro"})])
def test_ages_in_words_stay_in_words_within_their_band(age, band):
    new = Deidentifier(DeidSettings(), KEY).deidentify(age, [(0, len(age), AGE)], "p").text
    words = age.split()[-1]
    assert new.endswith(" " + words) and new[: -len(words) - 1] in band


def test_a_surrogate_never_writes_another_phi_value_of_the_document(monkeypatch):
    import spacy_clinical_flair.deid.deidentify as module

    draws = iter(["Juan", "Ana Juan", "Pedro"])  # the first two write "Juan", found elsewhere in the note
    monkeypatch.setattr(module, "surrogate", lambda kind, original, seed: next(draws))
    text = "Ana visita a Juan."
    result = Deidentifier(DeidSettings(operators={NAME: "keep"}, propagate=False)).deidentify(
        text, [(0, 3, "NOMBRE_PERSONAL_SANITARIO"), (13, 17, NAME)], "d")
    assert result.text == "Pedro visita a Juan."
