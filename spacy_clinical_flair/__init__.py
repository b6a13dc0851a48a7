"""spacy-clinical-flair: Flair character-LM sequence taggers in spaCy for clinical NER.

Everything the package registers with spaCy (the factories ``clinical_sentencizer``, ``clinical_flair_ner``,
``clinical_flair_vote``, ``clinical_flair_copy_ents``, the tokenizer ``clinical_flair.tokenizer.v1``, the Flair
layer's architectures and the callbacks) is in :mod:`spacy_clinical_flair.registrations`, which spaCy imports
through the entry points in ``setup.cfg`` the first time a config or ``add_pipe`` names one of them; importing
this package imports nothing heavy (its public names load on first use, the registrations with them), and ``import
spacy_clinical_flair.registrations`` registers everything by hand where the package is not installed.

The subpackages follow the data's way through the package, each importing only those above it:
``text`` → ``corpus`` → ``models`` → ``ml`` → ``pipeline`` → ``training`` → ``evaluate`` → ``annotate``
→ ``cli`` (``tests/test_layers.py`` checks it).
"""
import importlib
from typing import Any, Dict, List

#: Each public name and the module it lives in; imported on first use (PEP 562), so that ``import
#: spacy_clinical_flair`` costs no spaCy, torch or Flair import (the command line's ``--help`` stays fast).
_EXPORTS: Dict[str, str] = {
    "BratDocument": ".corpus.brat", "BratEntity": ".corpus.brat", "Problem": ".corpus.brat",
    "parse_ann": ".corpus.brat", "read_brat_document": ".corpus.brat", "read_brat_folder": ".corpus.brat",
    "ConversionReport": ".corpus.convert", "convert_brat_folder": ".corpus.convert",
    "iter_brat_folder_docs": ".corpus.convert",
    "BRAT_SPANS_KEY": ".corpus.docs", "DOC_ID_KEY": ".corpus.docs",
    "export_docs_to_brat": ".corpus.export",
    "flatten_entities": ".corpus.flatten",
    "ClinicalFlairNER": ".pipeline.component",
    "set_precision": ".pipeline.precision_switch",
    "set_engine": ".pipeline.precision_switch",
    "CopyEnts": ".pipeline.vote", "VoteEnts": ".pipeline.vote",
    "ClinicalSentencizer": ".text.sentences",
    "blank_pipeline": ".text.tokenizer", "create_clinical_tokenizer": ".text.tokenizer",
}

__version__ = "0.1.0"

__all__ = [
    "BRAT_SPANS_KEY",
    "DOC_ID_KEY",
    "BratDocument",
    "BratEntity",
    "ClinicalFlairNER",
    "ClinicalSentencizer",
    "ConversionReport",
    "CopyEnts",
    "VoteEnts",
    "Problem",
    "convert_brat_folder",
    "export_docs_to_brat",
    "blank_pipeline",
    "create_clinical_tokenizer",
    "flatten_entities",
    "iter_brat_folder_docs",
    "parse_ann",
    "read_brat_document",
    "read_brat_folder",
    "set_precision",
    "set_engine",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (after the registrations, as an eager import did)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    importlib.import_module(".registrations", __name__)
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_EXPORTS))
