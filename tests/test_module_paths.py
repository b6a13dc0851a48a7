"""Every module path that code, configs and docs name exists: a renamed or moved module cannot leave a stale name.

Checked in every tracked text file outside ``tests/`` (whose imports run, and whose examples are made up):
``spacy_clinical_flair/...py`` file paths, ``spacy_clinical_flair.a.b`` dotted
paths (the longest prefix that is a module must exist, and the next part must be defined in it), and the targets
of Sphinx roles in docstrings (``:func:`module.name```), whose first part must be a module of the package, a name
of the same file, or an importable module.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path
from typing import Iterator, List, Set, Tuple

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "spacy_clinical_flair"
SUFFIXES = {".py", ".md", ".cfg", ".yml", ".toml", ".sh", ".txt"}
FILE_PATH = re.compile(r"spacy_clinical_flair/[\w/]+\.py")
DOTTED = re.compile(r"(?<![\w/.])spacy_clinical_flair(?:\.\w+)+")
ROLE = re.compile(r":(?:func|mod|class|meth|data|attr|exc|obj):`~?\.*([\w.]+)`")
# a def, class, assignment or import of the name, or a key of the package's lazy ``_EXPORTS``
DEFINED = r"^\s*(?:def|class)\s+{0}\b|^\s*{0}\s*[:=]|^\s*(?:from\s+\S+\s+)?import\s+.*\b{0}\b|\"{0}\": \"\."


def tracked_files() -> Iterator[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in names.splitlines():
        path = ROOT / name
        if path.suffix in SUFFIXES and path.is_file() and path.parts[len(ROOT.parts)] != "tests":
            yield path


def module_file(parts: List[str]) -> Path | None:
    """The .py file of a dotted module path under the repository (a package's __init__.py), else None."""
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def defines(source: str, name: str) -> bool:
    return re.search(DEFINED.format(re.escape(name)), source, re.MULTILINE) is not None


def dotted_problem(path: str) -> str | None:
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        found = module_file(parts[:end])
        if found is None:
            continue
        if end == len(parts) or defines(found.read_text(encoding="utf-8"), parts[end]):
            return None
        return f"{'.'.join(parts[:end])} defines no {parts[end]}"
    return "no such module"


def package_modules() -> Set[str]:
    return {p.stem for p in PACKAGE.rglob("*.py")} | {p.name for p in PACKAGE.rglob("*") if p.is_dir()}


def role_problem(target: str, source: str, modules: Set[str]) -> str | None:
    first = target.split(".")[0]
    if first in modules or defines(source, first) or importlib.util.find_spec(first) is not None:
        return None
    return f"{first} is no module of the package, name of this file or importable module"


def problems() -> List[Tuple[str, str, str]]:
    found, modules = [], package_modules()
    for file in tracked_files():
        text = file.read_text(encoding="utf-8", errors="replace")
        where = str(file.relative_to(ROOT))
        for match in FILE_PATH.findall(text):
            if not (ROOT / match).is_file():
                found.append((where, match, "no such file"))
        for match in DOTTED.findall(text):
            problem = dotted_problem(match.rstrip("."))
            if problem:
                found.append((where, match, problem))
        if file.suffix == ".py":
            for target in ROLE.findall(text):
                problem = role_problem(target, text, modules)
                if problem:
                    found.append((where, target, problem))
    return found


def test_every_named_module_path_exists():
    assert problems() == []


def test_the_check_finds_stale_names(tmp_path):
    modules = package_modules()
    assert dotted_problem("spacy_clinical_flair.models.lm_io.save_language_model") is None
    assert dotted_problem("spacy_clinical_flair.models.model_schema") == "spacy_clinical_flair.models defines no model_schema"
    assert dotted_problem("spacy_clinical_flair.models.lm_io.no_such_function") is not None
    assert role_problem("model_schema.read_header", "", modules) is not None
    assert role_problem("schema.read_header", "", modules) is None
    assert not (ROOT / "spacy_clinical_flair/cpu_ops.py").is_file()
