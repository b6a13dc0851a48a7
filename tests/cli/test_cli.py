"""The command-line interface: help, summaries, --report, and clear errors without tracebacks."""
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from spacy_clinical_flair.cli import app

from ..conftest import SAMPLE, write_pair

runner = CliRunner()


def test_module_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "spacy_clinical_flair", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for command in ("convert", "export-brat", "to-flair"):
        assert command in out


COMMANDS = ["convert", "export-brat", "to-flair", "export-lm", "import-flair", "annotate", "deidentify", "check-overlap",
            "compare", "report", "train-lm", "train-tagger", "train-spacy-ner"]


def test_module_help_lists_every_command_and_hides_the_old_names():
    out = runner.invoke(app, ["--help"]).output
    assert all(command in out for command in COMMANDS)
    assert "train-ner " not in out and "train-spacy " not in out  # hidden aliases


@pytest.mark.parametrize("old, new", [("train-ner", "train-tagger"), ("train-spacy", "train-spacy-ner")])
def test_old_command_names_still_work(old, new):
    result = runner.invoke(app, [old, "--help"])
    assert result.exit_code == 0 and f"Old name of {new}" in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_convert_export_and_to_flair_on_the_sample(tmp_path):
    spacy_file, report = tmp_path / "dev.spacy", tmp_path / "dev.json"
    result = runner.invoke(app, ["convert", str(SAMPLE / "dev"), str(spacy_file), "--report", str(report),
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    t_lines = sum(line.startswith("T") for p in (SAMPLE / "dev").glob("*.ann")
                  for line in p.read_text(encoding="utf-8").splitlines())
    assert data["documents"] == 15 and data["entities_in"] == t_lines
    assert f"entities in (T lines) {t_lines}" in result.output and "accounted for      yes" in result.output

    result = runner.invoke(app, ["export-brat", str(spacy_file), str(tmp_path / "brat")])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "brat").glob("*.ann"))) == 15
    assert f"entities written   {data['outcomes']['in_ents']}" in result.output

    result = runner.invoke(app, ["to-flair", str(spacy_file), str(tmp_path / "dev.txt")])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "dev.txt").read_text(encoding="utf-8").splitlines()
    assert sum(line.split(" ")[1][:2] in ("B-", "S-") for line in lines if line) == data["outcomes"]["in_ents"]


def test_convert_prints_problems_with_file_and_line(tmp_path):
    write_pair(tmp_path / "in", "x", "Tos.", "T1\tSINTOMA 0 3\tTos\nbasura\n")
    result = runner.invoke(app, ["convert", str(tmp_path / "in"), str(tmp_path / "x.spacy")])
    assert result.exit_code == 0
    assert "x.ann:2: malformed_line" in result.output


@pytest.mark.parametrize("args,message", [
    (["convert", "/no/such/folder", "out.spacy"], "does not exist"),
    (["convert", str(SAMPLE / "dev"), "out.json"], "should end in .spacy"),
    (["convert", str(SAMPLE / "dev"), "out.spacy", "--lang", "xx-nope"], "unknown spaCy language code"),
    (["export-brat", "/no/such.spacy", "out"], "does not exist"),
])
def test_bad_input_gives_a_clear_error(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args,option", [
    (["convert", str(SAMPLE / "dev"), "out.spacy", "--discontinuous", "merge"], "--discontinuous"),
    (["convert", str(SAMPLE / "dev"), "out.spacy", "--tokenizer", "whitespace"], "--tokenizer"),
    (["train-lm", "configs/lm_cpu.cfg", "out", "--direction", "sideways"], "--direction"),
])
def test_a_choice_outside_the_options_is_a_usage_error(args, option, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "Invalid value" in result.output and option in result.output


def test_cli_choices_are_the_librarys():
    from spacy_clinical_flair.cli.common import Discontinuous, TokenizerChoice
    from spacy_clinical_flair.corpus.flatten import DISCONTINUOUS_POLICIES
    from spacy_clinical_flair.text.tokenizer import TOKENIZERS

    assert [c.value for c in Discontinuous] == list(DISCONTINUOUS_POLICIES)
    assert [c.value for c in TokenizerChoice] == list(TOKENIZERS)


def test_discontinuous_cover_through_the_cli(tmp_path):
    """'Dolor ... torácico' (a real gap) is left out of doc.ents by default and covered with --discontinuous cover."""
    import spacy
    from spacy.tokens import DocBin

    text = "Dolor leve torácico y tos."
    write_pair(tmp_path / "in", "x", text, "T1\tSINTOMA 0 5;11 19\tDolor torácico\nT2\tSINTOMA 22 25\ttos\n")
    spans = {}
    for policy in ("skip", "cover"):
        result = runner.invoke(app, ["convert", str(tmp_path / "in"), str(tmp_path / f"{policy}.spacy"),
                                     "--discontinuous", policy, "--no-progress"])
        assert result.exit_code == 0, result.output
        doc = next(DocBin().from_disk(tmp_path / f"{policy}.spacy").get_docs(spacy.blank("es").vocab))
        spans[policy] = [(e.start_char, e.end_char) for e in doc.ents]
    assert spans["skip"] == [(22, 25)]
    assert spans["cover"] == [(0, 19), (22, 25)]


def test_corrupt_docbin_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.spacy"
    bad.write_bytes(b"this is not msgpack")
    result = runner.invoke(app, ["to-flair", str(bad), str(tmp_path / "x.txt")])
    assert result.exit_code == 1 and "not a readable spaCy DocBin" in result.output


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["convert", str(tmp_path / "empty"), str(tmp_path / "e.spacy")])
    assert result.exit_code == 1 and "no .txt files found" in result.output
    assert not (tmp_path / "e.spacy").exists()  # nothing written


def test_help_texts_show_their_square_brackets():
    import re

    def text(command):  # the help as one line of words, without rich's box drawing
        return " ".join(re.sub(r"[│╭╮╰╯─]", " ", runner.invoke(app, [command, "--help"]).output).split())

    assert "pip install -e '.[ray]'" in text("annotate")
    assert "component on [paths] train/dev" in text("train-tagger")
    for info in app.registered_commands:  # every bracketed text written in a help reaches the screen
        if info.hidden:
            continue
        import inspect
        written = [inspect.getdoc(info.callback) or ""] + [
            getattr(p.default, "help", None) or "" for p in inspect.signature(info.callback).parameters.values()]
        shown = text(info.name)
        for bracketed in re.findall(r"\[[^\]\s]+\]", " ".join(written)):
            assert bracketed in shown, f"{info.name} --help drops {bracketed}"
        assert "<bool>" not in shown and "\\[" not in shown, f"{info.name} --help"
