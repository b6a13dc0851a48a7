"""De-identification through a pipeline: the component, the deidentify command on a folder of notes (mapping
files, patients, refusals) and annotate --format deid. The pipeline is spaCy's entity ruler with hand-written
patterns, so which spans are PHI is known exactly."""
import datetime as dt
import json

import pytest
import spacy
from typer.testing import CliRunner

import spacy_clinical_flair  # noqa: F401  (registers the factory and the extensions)
from spacy_clinical_flair.cli import app
from spacy_clinical_flair.deid.keys import DeidKeyError

runner = CliRunner()
KEY = "0123456789abcdef-test-key"
PATTERNS = [{"label": "NOMBRE_SUJETO_ASISTENCIA", "pattern": [{"TEXT": "Juan"}, {"TEXT": "Pérez"}]},
            {"label": "FECHAS", "pattern": [{"SHAPE": "dd/dd/dddd"}]},
            {"label": "HOSPITAL", "pattern": [{"TEXT": "Hospital"}, {"TEXT": "Central"}]}]
NOTES = {"P1_ingreso.txt": "Juan Pérez ingresa el 12/05/2018 en el Hospital Central.",
         "P1_alta.txt": "Alta de Juan Pérez el 20/05/2018.",
         "P2_ingreso.txt": "Juan Pérez ingresa el 12/05/2018."}


@pytest.fixture
def ruler_pipeline(tmp_path):
    nlp = spacy.blank("es")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.to_disk(tmp_path / "ruler")
    return tmp_path / "ruler"


@pytest.fixture
def notes(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def deidentify(*args, key=KEY):
    return runner.invoke(app, ["deidentify", *map(str, args), "--no-progress"],
                         env={"CLINICAL_FLAIR_DEID_KEY": key} if key else {"CLINICAL_FLAIR_DEID_KEY": ""})


def test_the_component_sets_doc_deid_and_never_saves_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINICAL_FLAIR_DEID_KEY", KEY)
    nlp = spacy.blank("es")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.add_pipe("clinical_flair_deidentify", config={"operators": {"FECHAS": "tag", "HOSPITAL": "hash"}})
    doc = nlp(NOTES["P1_ingreso.txt"])
    assert doc._.deid.text.endswith(" ingresa el [FECHAS] en el [HOSPITAL:" + doc._.deid.text[-14:-2] + "].")
    nlp.to_disk(tmp_path / "saved")
    saved = b"".join(path.read_bytes() for path in (tmp_path / "saved").rglob("*") if path.is_file())
    assert KEY.encode() not in saved and b"CLINICAL_FLAIR_DEID_KEY" in saved  # the variable's name, not the key
    again = spacy.load(tmp_path / "saved")
    assert again(NOTES["P1_ingreso.txt"])._.deid.text == doc._.deid.text  # the same key: the same output


def test_the_component_with_hash_and_no_key_fails_when_built(monkeypatch):
    monkeypatch.delenv("CLINICAL_FLAIR_DEID_KEY", raising=False)
    with pytest.raises(DeidKeyError, match="hash operator needs a key"):
        spacy.blank("es").add_pipe("clinical_flair_deidentify", config={"default_operator": "hash"})


def test_deidentify_writes_text_and_mapping_per_note_and_patients_share_surrogates(ruler_pipeline, notes, tmp_path):
    out, mapping = tmp_path / "out", tmp_path / "private" / "mapping.json"
    (tmp_path / "private").mkdir()
    result = deidentify(ruler_pipeline, notes, out, "--patient-pattern", r"^(P\d+)_", "--mapping", mapping)
    assert result.exit_code == 0, result.output
    assert "3 notes de-identified (2 patients); entities: 7 surrogate" in result.output
    reports = {name: json.loads((out / name).with_suffix(".json").read_text(encoding="utf-8")) for name in NOTES}
    for name in NOTES:
        text = (out / name).read_text(encoding="utf-8")
        assert "Juan Pérez" not in text and "12/05/2018" not in text
        for item in reports[name]["replacements"]:
            assert text[item["new_start"]:item["new_end"]] == item["new_text"]
            assert NOTES[name][item["start"]:item["end"]] == item["text"]
    first, second, other = (reports[n]["replacements"][0]["new_text"] for n in NOTES)
    assert first == second  # one patient, one surrogate for "Juan Pérez"
    assert reports["P1_ingreso.txt"]["scope"] == "patient:P1" and reports["P2_ingreso.txt"]["scope"] == "patient:P2"
    dates = [dt.datetime.strptime(reports[n]["replacements"][1]["new_text"], "%d/%m/%Y").date()
             for n in ("P1_ingreso.txt", "P1_alta.txt")]
    assert (dates[1] - dates[0]).days == 8  # 12/05 to 20/05 in the originals
    records = json.loads(mapping.read_text(encoding="utf-8"))
    assert records["key_given"] is True
    assert records["scopes"]["patient:P1"]["values"]["NOMBRE_SUJETO_ASISTENCIA"] == {"Juan Pérez": first}
    assert records["scopes"]["patient:P1"]["date_shift_days"] == reports["P1_alta.txt"]["date_shift_days"]


def test_a_second_run_with_the_same_key_writes_the_same_notes(ruler_pipeline, notes, tmp_path):
    assert deidentify(ruler_pipeline, notes, tmp_path / "a").exit_code == 0
    assert deidentify(ruler_pipeline, notes, tmp_path / "b").exit_code == 0
    for name in NOTES:
        assert (tmp_path / "a" / name).read_text(encoding="utf-8") == (tmp_path / "b" / name).read_text(encoding="utf-8")


def test_deidentify_refusals_are_one_clear_line(ruler_pipeline, notes, tmp_path):
    inside = deidentify(ruler_pipeline, notes, notes / "out")
    assert inside.exit_code != 0 and "inside the input folder" in inside.output
    hashed = deidentify(ruler_pipeline, notes, tmp_path / "o", "--operator", "hash", key=None)
    assert hashed.exit_code != 0 and "hash operator needs a key" in hashed.output
    bad = deidentify(ruler_pipeline, notes, tmp_path / "o", "--label-operator", "FECHAS")
    assert bad.exit_code != 0 and "write LABEL=OPERATOR" in bad.output
    unknown = deidentify(ruler_pipeline, notes, tmp_path / "o", "--label-operator", "FECHAS=blur")
    assert unknown.exit_code != 0 and "unknown de-identification operator 'blur'" in unknown.output
    assert "Traceback" not in inside.output + hashed.output + bad.output + unknown.output
    assert deidentify(ruler_pipeline, notes, tmp_path / "o2").exit_code == 0
    again = deidentify(ruler_pipeline, notes, tmp_path / "o2")  # never overwrites
    assert again.exit_code != 0 and "already exists" in again.output


def test_label_operators_apply_per_label(ruler_pipeline, notes, tmp_path):
    result = deidentify(ruler_pipeline, notes, tmp_path / "o", "--operator", "mask", "--label-operator", "FECHAS=tag")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "P1_alta.txt").read_text(encoding="utf-8") == "Alta de ********** el [FECHAS]."


def test_annotate_format_deid_writes_a_text_and_a_mapping_per_document(ruler_pipeline, notes, tmp_path, monkeypatch):
    monkeypatch.setenv("CLINICAL_FLAIR_DEID_KEY", KEY)
    result = runner.invoke(app, ["annotate", str(ruler_pipeline), str(notes), str(tmp_path / "ann"), "--format", "deid",
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    shard = tmp_path / "ann" / "shard-00000"
    texts = sorted(shard.glob("*.txt"))
    assert len(texts) == 3 and len(list(shard.glob("*.json"))) == 3
    for path in texts:
        report = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8")
        assert "Juan Pérez" not in text and len(report["replacements"]) >= 2
        for item in report["replacements"]:
            assert text[item["new_start"]:item["new_end"]] == item["new_text"]


def test_annotate_patient_field_gives_a_patients_notes_one_scope(ruler_pipeline, tmp_path, monkeypatch):
    monkeypatch.setenv("CLINICAL_FLAIR_DEID_KEY", KEY)
    records = [{"id": "a", "patient": "P1", "text": NOTES["P1_ingreso.txt"]},
               {"id": "b", "patient": "P1", "text": NOTES["P1_alta.txt"]},
               {"id": "c", "patient": "P2", "text": NOTES["P2_ingreso.txt"]}]
    source = tmp_path / "notes.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    result = runner.invoke(app, ["annotate", str(ruler_pipeline), str(source), str(tmp_path / "ann"), "--format",
                                 "deid", "--patient-field", "patient", "--no-progress"])
    assert result.exit_code == 0, result.output
    reports = {r["id"]: json.loads((tmp_path / "ann" / "shard-00000" / f"{r['id']}.json").read_text(encoding="utf-8"))
               for r in records}
    assert [reports[i]["scope"] for i in "abc"] == ["patient:P1", "patient:P1", "patient:P2"]
    names = [reports[i]["replacements"][0]["new_text"] for i in "abc"]
    assert names[0] == names[1] and reports["a"]["date_shift_days"] == reports["b"]["date_shift_days"]


def test_a_patient_field_on_a_folder_of_txt_files_is_refused(ruler_pipeline, notes, tmp_path):
    result = runner.invoke(app, ["annotate", str(ruler_pipeline), str(notes), str(tmp_path / "ann"), "--format", "deid",
                                 "--patient-field", "patient", "--no-progress"])
    assert result.exit_code != 0 and "--patient-field reads a JSONL field or a Parquet column" in result.output


def test_recall_rules_in_the_component_and_the_command(tmp_path, monkeypatch):
    """A month alone is not a pattern of the ruler: the rules replace it unless turned off."""
    monkeypatch.setenv("CLINICAL_FLAIR_DEID_KEY", KEY)
    text = "Juan Pérez ingresa en junio."
    for recall_rules, expected in [(True, "[NOMBRE_SUJETO_ASISTENCIA] ingresa en [FECHAS]."),
                                   (False, "[NOMBRE_SUJETO_ASISTENCIA] ingresa en junio.")]:
        nlp = spacy.blank("es")
        nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
        nlp.add_pipe("clinical_flair_deidentify", config={"default_operator": "tag", "recall_rules": recall_rules})
        assert nlp(text)._.deid.text == expected
    folder = tmp_path / "n"
    folder.mkdir()
    (folder / "a.txt").write_text(text, encoding="utf-8")
    ruler = tmp_path / "ruler"
    nlp.to_disk(ruler)
    for flag, expected in [("--recall-rules", "[NOMBRE_SUJETO_ASISTENCIA] ingresa en [FECHAS]."),
                           ("--no-recall-rules", "[NOMBRE_SUJETO_ASISTENCIA] ingresa en junio.")]:
        result = deidentify(ruler, folder, tmp_path / flag, "--operator", "tag", flag)
        assert result.exit_code == 0, result.output
        assert (tmp_path / flag / "a.txt").read_text(encoding="utf-8") == expected


def test_a_second_models_span_group_is_replaced_where_doc_ents_found_nothing(tmp_path, monkeypatch):
    """A span ruler writing the group deid_recall stands in for es_meddocan_flair's second NER: the component, the
    deidentify command and annotate --format deid (no component in the pipeline) all replace "Lugo" from it, and
    not its "Juan", which lies inside a found name."""
    monkeypatch.setenv("CLINICAL_FLAIR_DEID_KEY", KEY)
    text = "Juan Pérez ingresa en Lugo."
    expected = "[NOMBRE_SUJETO_ASISTENCIA] ingresa en [TERRITORIO]."
    nlp = spacy.blank("es")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.add_pipe("span_ruler", config={"spans_key": "deid_recall"}).add_patterns(
        [{"label": "TERRITORIO", "pattern": "Lugo"}, {"label": "NOMBRE_SUJETO_ASISTENCIA", "pattern": "Juan"}])
    nlp.to_disk(tmp_path / "two")
    nlp.add_pipe("clinical_flair_deidentify", config={"default_operator": "tag", "recall_rules": False})
    deid = nlp(text)._.deid
    assert deid.text == expected and deid.replacements[1].note == "found by another model"
    folder = tmp_path / "n"
    folder.mkdir()
    (folder / "a.txt").write_text(text, encoding="utf-8")
    result = deidentify(tmp_path / "two", folder, tmp_path / "out", "--operator", "tag", "--no-recall-rules")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "a.txt").read_text(encoding="utf-8") == expected
    result = deidentify(tmp_path / "two", folder, tmp_path / "off", "--operator", "tag", "--no-recall-rules",
                        "--no-recall-spans")
    assert (tmp_path / "off" / "a.txt").read_text(encoding="utf-8") == "[NOMBRE_SUJETO_ASISTENCIA] ingresa en Lugo."
    nlp.replace_pipe("clinical_flair_deidentify", "clinical_flair_deidentify",
                     config={"default_operator": "tag", "recall_rules": False, "recall_spans": False})
    assert nlp(text)._.deid.text == "[NOMBRE_SUJETO_ASISTENCIA] ingresa en Lugo."
    result = runner.invoke(app, ["annotate", str(tmp_path / "two"), str(folder), str(tmp_path / "ann"), "--format",
                                 "deid", "--no-progress"])
    assert result.exit_code == 0, result.output
    shard = tmp_path / "ann" / "shard-00000"
    report = json.loads((shard / "a.json").read_text(encoding="utf-8"))
    assert [(r["text"], r["note"]) for r in report["replacements"]] == [("Juan Pérez", ""),
                                                                        ("Lugo", "found by another model")]
    assert "Lugo" not in (shard / "a.txt").read_text(encoding="utf-8")
