"""What starting costs: the package import loads no spaCy, torch or Flair, and ``--help`` answers in under a second.

Each check runs in a fresh interpreter (this test process has long imported everything).
"""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

HEAVY = ("torch", "flair", "spacy", "thinc", "transformers")


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_package_import_loads_nothing_heavy():
    out = _run("import sys, spacy_clinical_flair, spacy_clinical_flair.cli\n"
               f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert out.strip() == "[]"


def test_public_names_still_import_and_register():
    # a public name loads its module and the registrations, as the eager import did
    out = _run("import spacy_clinical_flair as scf\n"
               "from spacy.tokens import Span\n"
               "print(scf.convert_brat_folder.__module__, Span.has_extension('brat_notes'))")
    assert out.split() == ["spacy_clinical_flair.corpus.convert", "True"]
    with pytest.raises(AttributeError, match="no_such_name"):
        import spacy_clinical_flair

        spacy_clinical_flair.no_such_name  # noqa: B018


def test_spacy_finds_the_factories_without_the_package_imported():
    out = _run("import spacy\n"
               "nlp = spacy.blank('es'); nlp.add_pipe('clinical_sentencizer')\n"
               "print(nlp.pipe_names, [t.text for t in nlp('Dolor. Fiebre.') if t.is_sent_start])")
    assert out.splitlines() == ["['clinical_sentencizer'] ['Dolor', 'Fiebre']"]


def test_help_answers_in_under_a_second():
    fastest = float("inf")
    for _ in range(3):  # the fastest of three: a loaded CI machine may stall one start
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "spacy_clinical_flair", "--help"], capture_output=True,
                                text=True, timeout=120)
        fastest = min(fastest, time.perf_counter() - started)
        assert result.returncode == 0 and "annotate" in result.stdout
    assert fastest < 1.0, f"--help took {fastest:.2f} s"
