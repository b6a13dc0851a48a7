"""README's set-up and usage commands, run as printed in a fresh shell, in a copy of the clone.

The shell starts with a bare environment (no virtual environment active, nothing of this test process's ``PATH``),
so a command that needs an activated ``.venv`` fails here as it would for a newcomer. The long ones run with a
smaller budget (``--vars.ner_minutes``); the test command runs its collection only (this is that command), and the
"own corpus" command gets the sample's folders for its placeholder paths. The package step of ``spacy project run
all`` must print no warning. This test installs everything into a new ``.venv``: it takes minutes.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BUDGET = "--vars.ner_minutes 1"
#: What the package step may not print (spacy package's fallbacks and setuptools' warnings).
PACKAGE_WARNINGS = re.compile(r"warn|deprecat|no module named|no files found|traceback", re.IGNORECASE)
#: pip's note that an index this machine's pip configuration names (a ``file://`` extra index) lacks a package:
#: about the machine, not the package, printed where the build's isolated environment is made.
MACHINE_PIP_NOTES = re.compile(r"^WARNING: Location '[^']*' is ignored: it is neither a file nor a directory\.\n",
                               re.MULTILINE)

pytestmark = pytest.mark.readme


def readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def code_blocks(section: str, language: str) -> List[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)


def commands(section: str) -> List[str]:
    """The shell commands of a section's bash blocks, comments left out."""
    return [line.strip() for block in code_blocks(section, "bash") for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def fresh_shell(command: str, cwd: Path, timeout: int = 3600, stdout_only: bool = False, unbuffered: bool = False) -> str:
    """Run ``command`` in bash with a newcomer's environment; its output (stdout and stderr, or stdout only),
    or a failure that shows it. ``unbuffered``: Python writes at once (PYTHONUNBUFFERED), so that what the
    project runner prints and what its steps print stay in order."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(cwd)), "LANG": "C.UTF-8"}
    env.update({key: value for key, value in os.environ.items() if key.startswith(("PIP_", "UV_"))})
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    result = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    output = result.stdout + result.stderr
    shown = MACHINE_PIP_NOTES.sub("", output)  # the machine's pip notes would push the error out of the message
    assert result.returncode == 0, f"{command!r} failed ({result.returncode}):\n{shown[-4000:]}"
    return result.stdout if stdout_only else output


def copy_of_the_clone(target: Path) -> Path:
    """The files a clone has (and any new ones git does not ignore), without .venv or build outputs."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def step_output(log: str, step: str) -> str:
    """What ``spacy project run`` printed for one step (from its ``=== step ===`` banner to the next; the
    banner is bold, in ANSI codes, even into a pipe)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", log)
    parts = re.split(r"^=+ (\S+) =+$", plain, flags=re.MULTILINE)
    found = [parts[i + 1] for i in range(1, len(parts) - 1, 2) if parts[i] == step]
    assert found, f"no '{step}' step in the output"
    return found[0]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout")
    return copy_of_the_clone(tmp_path_factory.mktemp("clone"))


def test_setup_commands_run_as_printed_and_package_without_warnings(clone):
    setup = commands(readme_section("Set up"))
    demo = next(c for c in setup if c.endswith("spacy project run all"))
    # --vars needs the project folder before it (as README says); 2>&1: each step's warnings stay in its part
    log = fresh_shell(f"{demo} . {BUDGET} 2>&1", clone, unbuffered=True)
    assert (clone / "metrics" / "test.json").is_file() and (clone / "metrics" / "test-errors.html").is_file()
    package = step_output(log, "package")
    package = MACHINE_PIP_NOTES.sub("", package)
    assert not PACKAGE_WARNINGS.search(package), package
    built = list((clone / "packages").rglob("*.tar.gz"))
    assert built, "no package built"
    import tarfile

    with tarfile.open(built[0]) as archive:
        assert any(Path(name).name == "LICENSE" for name in archive.getnames())

    tests = next(c for c in setup if "pytest" in c)
    assert tests.endswith("-m pytest -q")
    fresh_shell(f"{tests} --collect-only", clone)  # installs the test extra; the suite itself is this run

    own = next(c for c in setup if "--vars.train_dir" in c)
    own = re.sub(r"/data/brat/(train|dev|test)", r"assets/sample/\1", own)
    fresh_shell(f"{own} {BUDGET}", clone)


def test_quickstart_and_annotate_run_as_printed(clone):
    if not (clone / ".venv" / "bin" / "python").exists():
        fresh_shell(commands(readme_section("Set up"))[0].split(" && .venv/bin/python -m spacy")[0], clone)
    quickstart = readme_section("Quickstart")
    for command in commands(quickstart):
        fresh_shell(command, clone)
    script = code_blocks(quickstart, "python")[0]
    expected = code_blocks(quickstart, "text")[0]
    assert fresh_shell(f".venv/bin/python - <<'EOF'\n{script}EOF", clone, stdout_only=True) == expected

    heads = readme_section("Drugs, procedures and symptoms")  # es_clinical_flair and negspacy
    for command in commands(heads):
        fresh_shell(command, clone)
    script, expected = code_blocks(heads, "python")[0], code_blocks(heads, "text")[0]
    assert fresh_shell(f".venv/bin/python - <<'EOF'\n{script}EOF", clone, stdout_only=True) == expected

    (clone / "notes").mkdir()
    (clone / "notes" / "a.txt").write_text("Nombre: Ana.\nApellidos: Martínez Ruiz.\nEdad: 58 años.\n", encoding="utf-8")
    (annotate,) = commands(readme_section("Annotating many documents"))
    fresh_shell(annotate, clone)
    annotations = (clone / "annotated").rglob("a.ann")
    assert "NOMBRE_SUJETO_ASISTENCIA" in next(annotations).read_text(encoding="utf-8")

    (export,) = commands(readme_section("Which route"))  # the int8 ONNX copy of the shipped pipeline
    assert re.search(r"\d+ of [1-9]\d* entities equal to PyTorch fp32's on 1 texts", fresh_shell(export, clone))
    assert 'engine = "onnx"' in (clone / "meddocan-int8" / "config.cfg").read_text(encoding="utf-8")

    # one shell (the key's export must reach the commands), one command a line (a line may end in a comment)
    fresh_shell("set -e\n" + "\n".join(commands(readme_section("De-identify notes"))), clone)
    for written in (clone / "deid" / "a.txt", next((clone / "deid-many").rglob("a.txt"))):
        deidentified = written.read_text(encoding="utf-8")
        assert "Martínez Ruiz" not in deidentified and deidentified.startswith("Nombre: ")
        assert written.with_suffix(".json").exists()
