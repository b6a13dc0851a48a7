"""README and docs/ say only what exists: every command they show has --help, every step they run is in
project.yml, every path README names is in the repository or is written by a named project step."""
import re
from pathlib import Path

import pytest
import srsly
from typer.testing import CliRunner

from spacy_clinical_flair.cli import app

from .conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PROJECT = srsly.read_yaml(REPO / "project.yml")
STEPS = {command["name"] for command in PROJECT["commands"]} | set(PROJECT["workflows"])
#: what the project's steps write (a path README names may be one of these, or inside one)
OUTPUTS = {output for command in PROJECT["commands"] for output in command.get("outputs", [])}


def text(page: Path) -> str:
    return page.read_text(encoding="utf-8").replace("\\\n", " ")  # shell continuation lines joined


def on_pages(pattern: str):
    """(page name, match) for every match of ``pattern``'s group on README and docs/, sorted."""
    return sorted({(page.name, name) for page in PAGES for name in re.findall(pattern, text(page))})


def cli_commands():
    return on_pages(r"python -m spacy_clinical_flair ([a-z][a-z-]+)")


def project_runs():
    return on_pages(r"spacy project run ([a-z][\w-]*)")


def test_the_pages_show_commands_at_all():
    assert len(cli_commands()) >= 10 and len(project_runs()) >= 5


@pytest.mark.parametrize("page, command", cli_commands())
def test_every_command_the_docs_show_has_help(page, command):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output, f"{page}: python -m spacy_clinical_flair {command}"


@pytest.mark.parametrize("page, step", project_runs())
def test_every_project_step_the_docs_run_exists(page, step):
    assert step in STEPS, f"{page}: spacy project run {step} is not a command or workflow of project.yml"


def readme_paths():
    readme = text(REPO / "README.md")
    prefixes = "assets|configs|docs|benchmarks|tests|scripts|spacy_clinical_flair|metrics|training|corpus|packages|models"
    return sorted(set(re.findall(rf"(?<![\w./-])((?:{prefixes})/[\w./*-]*[\w*])", readme)))


def test_readme_names_paths():
    assert len(readme_paths()) >= 10


@pytest.mark.parametrize("path", readme_paths())
def test_every_path_readme_names_exists_or_is_written_by_a_step(path):
    if "*" in path:
        assert list(REPO.glob(path)) or any(Path(o).match(path) for o in OUTPUTS), path
        return
    produced = any(path == output or path.startswith(output.rstrip("/") + "/") for output in OUTPUTS)
    assert (REPO / path).exists() or produced, f"README names {path}: not in the repository, no step writes it"


def python_names():
    """Every ``from spacy_clinical_flair... import a, b`` and dotted ``spacy_clinical_flair.x.y.name`` the pages show."""
    found = set()
    for page in PAGES:
        for module, names in re.findall(r"from (spacy_clinical_flair[\w.]*) import ([\w, ]+)", text(page)):
            found.update((page.name, module, name.strip()) for name in names.split(",") if name.strip())
        for dotted in re.findall(r"`(spacy_clinical_flair(?:\.\w+)+)", text(page)):
            module, _, name = dotted.rpartition(".")
            found.add((page.name, module, name))
    return sorted(found)


@pytest.mark.parametrize("page, module, name", python_names())
def test_every_python_name_the_docs_show_exists(page, module, name):
    import importlib
    import importlib.util

    try:
        target = importlib.import_module(module)
    except ModuleNotFoundError:  # e.g. spacy_clinical_flair.training.lm.train_lm: module.attribute.attribute
        parent, _, attribute = module.rpartition(".")
        target = getattr(importlib.import_module(parent), attribute)
    assert hasattr(target, name) or importlib.util.find_spec(f"{module}.{name}"), f"{page}: {module}.{name}"
