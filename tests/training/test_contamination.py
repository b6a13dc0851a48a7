"""The contamination check: test sentences found in LM text, refusal above the limit, train-lm and CLI."""
import json

import pytest
from typer.testing import CliRunner

from spacy_clinical_flair.cli import app
from spacy_clinical_flair.training.contamination import (
    ContaminatedText,
    drop_overlapping,
    overlap_report,
    require_clean,
    split_sentences,
)

from ..conftest import REPO, SAMPLE

runner = CliRunner()
TEST_DOC = ("Paciente de 54 años que acude a urgencias por dolor abdominal intenso de tres días de evolución.\n"
            "Se realiza una tomografía computarizada abdominal que muestra una masa renal derecha de cinco cm.\n"
            "Sin antecedentes.")
PLANTED = "Se realiza una tomografía computarizada abdominal que muestra una masa renal derecha de cinco cm."


def lm_documents():
    """Real clinical-looking text that shares no sentence with TEST_DOC: the bundled sample's train notes."""
    return [p.read_text(encoding="utf-8") for p in sorted((SAMPLE / "train").glob("*.txt"))]


def test_sentences_are_lines_and_stops_of_ten_words_or_more():
    # 17, 16 and 2 words: the short line is not counted
    assert split_sentences(TEST_DOC) == [TEST_DOC.splitlines()[0], PLANTED]
    assert split_sentences("Primera frase de la nota con diez palabras en total aquí. Segunda frase corta.") == [
        "Primera frase de la nota con diez palabras en total aquí."]
    assert split_sentences("una  dos\ttres cuatro cinco seis siete ocho nueve diez") == [
        "una dos tres cuatro cinco seis siete ocho nueve diez"]


def test_clean_text_passes_and_a_planted_sentence_is_found():
    clean = lm_documents()
    (report,) = overlap_report(clean, {"test": [TEST_DOC]})
    assert (report.documents, report.sentences, report.found, report.share) == (1, 2, 0, 0.0)
    require_clean([report])

    planted = clean[:3] + [clean[3] + "\nTexto nuevo. " + PLANTED + "\n"] + clean[4:]
    (report,) = overlap_report(planted, {"test": [TEST_DOC]})
    assert (report.found, report.share, report.examples) == (1, 0.5, [PLANTED])
    with pytest.raises(ContaminatedText, match="1 of 2 sentences"):
        require_clean([report])
    # the document holding the planted sentence, and only it, is dropped
    assert drop_overlapping(planted, [TEST_DOC]) == clean[:3] + clean[4:]


def test_the_limit_is_a_share_of_sentences():
    doc = "\n".join(f"Frase número {i} de la nota clínica que tiene diez palabras." for i in range(1000))
    lm = ["Frase número 7 de la nota clínica que tiene diez palabras.", "otro texto"]
    (report,) = overlap_report(lm, {"test": [doc]})
    assert (report.sentences, report.found) == (1000, 1)
    require_clean([report], max_share=0.005)  # 0.1% is under 0.5%
    with pytest.raises(ContaminatedText):
        require_clean([report], max_share=0.0005)


def test_train_lm_refuses_contaminated_text(tmp_path):
    text, test = tmp_path / "text", tmp_path / "test"
    text.mkdir(), test.mkdir()
    for i, doc in enumerate(lm_documents()[:20]):
        (text / f"{i}.txt").write_text(doc, encoding="utf-8")
    (test / "t.txt").write_text(TEST_DOC, encoding="utf-8")
    (text / "leak.txt").write_text(TEST_DOC, encoding="utf-8")
    args = ["train-lm", REPO / "configs/lm_pretrain.cfg", tmp_path / "lm", "--corpus.text_dirs", json.dumps([str(text)]),
            "--corpus.check_against", json.dumps([str(test)]), "--corpus.drop_overlapping", "false",
            "--lm.hidden_size", "8", "--lm.max_epochs", "1"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 1 and "holds test text" in result.output and "2 of 2 sentences" in result.output
    assert not (tmp_path / "lm" / "best-lm.pt").exists()
    report = json.loads((tmp_path / "lm" / "contamination.json").read_text())
    assert report["splits"][0]["found"] == 2 and report["dropped_documents"] == 0


def test_check_overlap_command(tmp_path):
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "t.txt").write_text(TEST_DOC, encoding="utf-8")
    clean = runner.invoke(app, ["check-overlap", str(tmp_path / "test"), "--text", str(SAMPLE / "train")])
    assert clean.exit_code == 0 and "0 of 2 sentences (0.00%)" in clean.output
    dirty = runner.invoke(app, ["check-overlap", str(tmp_path / "test"), "--text", str(tmp_path / "test"),
                                "--output", str(tmp_path / "r.json")])
    assert dirty.exit_code == 1 and "2 of 2 sentences (100.00%)" in dirty.output
    assert json.loads((tmp_path / "r.json").read_text())["splits"][0]["share"] == 1.0
    missing = runner.invoke(app, ["check-overlap", str(tmp_path / "nope"), "--text", str(SAMPLE / "train")])
    assert missing.exit_code == 1 and "neither a folder" in missing.output


def test_near_repeats_are_dropped_keeping_the_longest_copy():
    from spacy_clinical_flair.training.contamination import drop_duplicate_documents

    case = ("Paciente de setenta años que acude a urgencias por dolor torácico de dos horas de evolución. "
            "Se realiza un electrocardiograma que muestra elevación del segmento ST en cara inferior.")
    with_header = "Nombre: Ana Ruiz.\nEdad: 70 años.\n" + case  # MEDDOCAN's copy of the same case
    other = ("Mujer de cuarenta años con cefalea intensa y fotofobia desde hace tres días sin fiebre. "
             "La resonancia magnética cerebral no muestra lesiones agudas ni signos de sangrado.")
    half = case.split(". ")[0] + ". Una frase nueva y distinta que no aparece en ningún otro documento del corpus."
    short = "Sin cambios."
    texts = [case, other, with_header, short, "Sin  cambios.", half]
    # case: both its long sentences are in with_header (2 of 2 > half) -> dropped; half: 1 of 2 seen -> kept;
    # the two "Sin cambios." are one text once whitespace is collapsed and have no long sentence: the longer
    # (two spaces) is kept
    assert drop_duplicate_documents(texts) == [other, with_header, "Sin  cambios.", half]
