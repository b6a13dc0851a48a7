"""The de-identification pipeline that ships in models/: installed with pip into a fresh target, loaded by name in a
fresh interpreter outside the repository with the network cut (``unshare -n`` where the machine allows), it finds
exactly the entities README's quickstart prints."""
import ast
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from .conftest import REPO

PACKAGES = sorted((REPO / "models").glob("es_meddocan_flair-*.tar.gz"))
HEADS_PACKAGES = sorted((REPO / "models").glob("es_clinical_flair-*.tar.gz"))
HEADS_SECTION = "## Drugs, procedures and symptoms"


def readme_quickstart():
    """(package name, the text README passes to nlp, the "text label" lines README shows it prints)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    code, printed = re.search(r"```python\n(.*?)```\n+```text\n(.*?)```", readme, re.S).groups()
    name = re.search(r'spacy\.load\("([\w-]+)"\)', code).group(1)
    text = ast.literal_eval('"' + re.search(r'nlp\("(.*?)"\)', code, re.S).group(1) + '"')  # "\n" as in Python
    return name, text, [line for line in printed.splitlines() if line.strip()]


def network_cut():
    """``unshare -n`` if it works here (root, or user namespaces allowed), else nothing."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def test_one_package_ships():
    assert len(PACKAGES) == 1, "models/ should hold exactly one es_meddocan_flair package"


@pytest.mark.skipif(not PACKAGES, reason="no shipped package")
def test_installed_package_loads_by_name_offline_and_finds_the_readme_entities(tmp_path):
    name, text, expected = readme_quickstart()
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                                "--target", str(target), str(PACKAGES[0])], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    script = ("import json, sys, spacy; nlp = spacy.load(sys.argv[1]); doc = nlp(sys.argv[2]); "
              "print(json.dumps([f'{e.text} {e.label_}' for e in doc.ents]))")
    env = {**os.environ, "PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1"}
    loaded = subprocess.run([*network_cut(), sys.executable, "-c", script, name, text], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == expected


@pytest.mark.parametrize("package", PACKAGES + HEADS_PACKAGES, ids=lambda path: path.name)
def test_the_shipped_package_carries_its_licence(package):
    """The licence named in its meta.json travels inside the sdist and into the installed model folder."""
    import tarfile

    with tarfile.open(package) as archive:
        root = archive.getnames()[0].split("/")[0]
        meta = json.loads(archive.extractfile(f"{root}/meta.json").read())
        name = root.rsplit("-", 1)[0]
        for path in (f"{root}/LICENSE", f"{root}/{name}/{root}/LICENSE"):
            text = archive.extractfile(path).read().decode("utf-8")
            assert meta["license"] == "CC BY 4.0" and "Creative Commons Attribution 4.0" in text, path


def readme_section_example(title: str):
    """(the python block of README's section ``title``, the text block it shows printed)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(title):]
    section = section[:section.find("\n## ", 1)]
    code, printed = re.search(r"```python\n(.*?)```\n+```text\n(.*?)```", section, re.S).groups()
    return code, printed


@pytest.mark.skipif(not HEADS_PACKAGES, reason="no shipped heads package")
def test_heads_package_runs_the_readme_example_offline_as_printed(tmp_path):
    """es_clinical_flair, installed into a fresh target and loaded by name with the network cut, prints exactly what
    README's example shows (drugs, procedures and symptoms, negation by negspacy)."""
    assert len(HEADS_PACKAGES) == 1, "models/ should hold exactly one es_clinical_flair package"
    code, printed = readme_section_example(HEADS_SECTION)
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                                "--target", str(target), str(HEADS_PACKAGES[0])], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env = {**os.environ, "PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1"}
    ran = subprocess.run([*network_cut(), sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == printed
