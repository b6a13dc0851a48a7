"""The spaCy project: absolute path vars, the MEDDOCAN git asset, and deps that list every input."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from .conftest import REPO, SAMPLE

PROJECT = srsly.read_yaml(REPO / "project.yml")
COMMANDS = {command["name"]: command for command in PROJECT["commands"]}


def copy_project(folder: Path) -> Path:
    """project.yml, configs/, scripts/ and assets/ in a fresh folder (no corpus/, training/, ... yet)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "project.yml", folder / "project.yml")
    for name in ("configs", "scripts", "assets"):
        shutil.copytree(REPO / name, folder / name)
    return folder


def run_project(*args, cwd: Path):
    result = subprocess.run([sys.executable, "-m", "spacy", "project", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def entities_in(path: Path) -> int:
    return sum(len(doc.ents) for doc in DocBin().from_disk(path).get_docs(spacy.blank("es").vocab))


def outermost_continuous(folder: Path) -> int:
    """Entities the converter puts in doc.ents, counted from the .ann files: continuous T lines not inside
    another (discontinuous ones stay in doc.spans under the default discontinuous='skip')."""
    total = 0
    for ann in folder.glob("*.ann"):
        spans = []
        for line in ann.read_text(encoding="utf-8").splitlines():
            offsets = line.split("\t")[1].split(" ", 1)[1] if line.startswith("T") else ";"
            if ";" not in offsets:
                start, end = map(int, offsets.split())
                spans.append((start, end))
        total += sum(not any(s <= start and end <= e and (s, e) != (start, end) for s, e in spans)
                     for start, end in spans)
    return total


def test_convert_step_takes_absolute_paths(tmp_path):
    project = copy_project(tmp_path / "project")
    corpus = tmp_path / "elsewhere" / "brat"  # outside the project folder, given as absolute paths
    shutil.copytree(SAMPLE, corpus)
    run_project("run", "convert", project, "--vars.train_dir", corpus / "train", "--vars.dev_dir",
                corpus / "dev", "--vars.test_dir", corpus.resolve() / "test", cwd=tmp_path)
    for split in ("train", "dev", "test"):
        assert entities_in(project / "corpus" / f"{split}.spacy") == outermost_continuous(SAMPLE / split) > 0


def git(*args, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_meddocan_asset_is_fetched_from_a_git_repository(tmp_path):
    """The asset's repo is a var: a local repository with MEDDOCAN's layout stands in for GitHub."""
    repo = tmp_path / "SPACCC_MEDDOCAN"
    for split in ("train", "dev", "test"):
        target = repo / "corpus" / split / "brat"
        target.mkdir(parents=True)
        for txt in sorted((SAMPLE / split).glob("*.txt"))[:3]:
            for path in (txt, txt.with_suffix(".ann")):
                shutil.copy(path, target / path.name)
    (repo / "README.md").write_text("not part of the asset\n")
    git("init", "-q", "-b", "master", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "empty", cwd=repo)
    git("add", ".", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "corpus", cwd=repo)
    project = copy_project(tmp_path / "project")
    run_project("assets", project, "--extra", "--vars.meddocan_repo", f"file://{repo}", cwd=tmp_path)
    fetched = project / "assets" / "meddocan"
    assert sorted(p.name for p in (fetched / "dev" / "brat").iterdir()) == sorted(
        p.name for p in (repo / "corpus" / "dev" / "brat").iterdir())
    assert not (fetched / "README.md").exists()
    run_project("run", "convert", project, "--vars.train_dir", "assets/meddocan/train/brat", "--vars.dev_dir",
                "assets/meddocan/dev/brat", "--vars.test_dir", "assets/meddocan/test/brat", cwd=tmp_path)
    assert entities_in(project / "corpus" / "dev.spacy") == outermost_continuous(repo / "corpus" / "dev" / "brat") > 0


PATH_VARS = {"train_dir", "dev_dir", "test_dir", "lm_config", "base_lm_forward", "base_lm_backward", "lm_text_dir",
             "lm_forward", "lm_backward", "spacy_config", "tagger_config", "pipeline_config", "drugs_dir",
             "procedures_dir", "symptoms_dir"}
FILE = re.compile(r"(?<![\w./-])((?:corpus|training|configs|assets)/[^\s'\"\]]+|\$\{vars\.(\w+)\})")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_input_of_a_step_is_a_dependency(name):
    """Each file or folder a step's script reads (a project path or a path var) is in its deps; what it
    writes is in its outputs: weasel re-runs a step exactly when one of its inputs changed."""
    command = COMMANDS[name]
    listed = {entry.rstrip("/") for entry in command.get("deps", []) + command.get("outputs", [])
              + command.get("outputs_no_cache", [])}
    for line in command["script"]:
        for match in FILE.finditer(line):
            path, var = match.group(1), match.group(2)
            if var and var not in PATH_VARS:
                continue
            if path.startswith(("training/", "metrics/", "packages/")) and any(
                    entry.startswith(path.rstrip("/")) or path.startswith(entry) for entry in listed):
                continue
            assert path.rstrip("/") in listed or any(path.startswith(entry + "/") for entry in listed), \
                f"{name}: {path} is read but not a dependency"


def test_project_file_passes_weasels_validation():
    """weasel refuses a project.yml whose workflow shares a command's name or names an unknown step."""
    from weasel.util import load_project_config

    config = load_project_config(REPO, interpolate=True)
    commands = {command["name"] for command in config["commands"]}
    for workflow, steps in config["workflows"].items():
        assert workflow not in commands
        assert set(steps) <= commands, workflow


def test_interpolated_deps_and_outputs_are_one_path_each():
    """confection joins adjacent bare "${vars.x}" list entries into one "a, b" string, which weasel then
    reports as a missing dependency: after interpolation every entry must still be its own path."""
    from weasel.util import load_project_config

    config = load_project_config(REPO, interpolate=True)
    raw = {command["name"]: command for command in PROJECT["commands"]}
    for command in config["commands"]:
        for key in ("deps", "outputs", "outputs_no_cache"):
            entries = command.get(key, [])
            assert len(entries) == len(raw[command["name"]].get(key, [])), (command["name"], key, entries)
            assert not any(", " in entry for entry in entries), (command["name"], key, entries)
