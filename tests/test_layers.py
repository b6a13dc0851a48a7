"""The package's layers: each subpackage imports only itself and the subpackages above it in the data's
order, and no module imports itself back through others (no cycle). Imports inside functions count too."""
import ast
from pathlib import Path
from typing import Dict, List, Set

import pytest

from .conftest import REPO

PACKAGE = "spacy_clinical_flair"
#: The layer order (each may import the ones before it); the package root and registrations are on top.
LAYERS = ["text", "corpus", "models", "ml", "pipeline", "training", "evaluate", "deid", "annotate", "cli", "registrations",
          "__main__", ""]


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: Set[str], root: Path = REPO) -> Set[str]:
    """The package modules that ``path`` imports (relative and absolute, anywhere in the file)."""
    name = module_name(path, root)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found.update(c for c in candidates if c in known)
    found.discard(name)
    return found


def import_graph(package: Path) -> Dict[str, Set[str]]:
    """Module name -> the package modules it imports, for every module under ``package``."""
    files = {module_name(p, package.parent): p for p in sorted(package.rglob("*.py"))}
    return {name: imports_of(path, set(files), package.parent) for name, path in files.items()}


def layer(module: str) -> int:
    first = module.split(".")[1] if "." in module else ""
    if first not in LAYERS:
        raise AssertionError(f"{module} is in no layer: add its folder to LAYERS in {__file__}")
    return LAYERS.index(first)


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Every cycle found by depth-first search (each reported once, from where it was entered)."""
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycles():
    assert cycles(import_graph(REPO / PACKAGE)) == []


def test_imports_go_only_downward_in_the_layer_order():
    graph = import_graph(REPO / PACKAGE)
    upward = sorted(f"{source} imports {target}" for source, targets in graph.items() for target in targets
                    if layer(target) > layer(source))
    assert upward == []


def test_the_checks_catch_a_cycle_and_an_upward_import(tmp_path):
    package = tmp_path / PACKAGE
    for sub in ("text", "corpus"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "text" / "a.py").write_text("from ..corpus import b\n")
    (package / "corpus" / "b.py").write_text("def f():\n    from spacy_clinical_flair.text import a\n")
    graph = import_graph(package)
    assert graph["spacy_clinical_flair.text.a"] == {"spacy_clinical_flair.corpus", "spacy_clinical_flair.corpus.b"}
    assert cycles(graph) == [["spacy_clinical_flair.corpus.b", "spacy_clinical_flair.text.a",
                              "spacy_clinical_flair.corpus.b"]]
    assert layer("spacy_clinical_flair.corpus.b") > layer("spacy_clinical_flair.text.a")


@pytest.mark.parametrize("name", sorted(import_graph(REPO / PACKAGE)))
def test_every_module_is_in_a_layer(name):
    layer(name)
