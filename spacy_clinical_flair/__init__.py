"""spacy-clinical-flair: Flair character-LM sequence taggers in spaCy for clinical NER.

Importing the package registers everything in :mod:`spacy_clinical_flair.registrations` (the factories
``clinical_sentencizer``, ``clinical_flair_ner``, ``clinical_flair_vote``, ``clinical_flair_copy_ents``, the
tokenizer ``clinical_flair.tokenizer.v1``, the Flair layer's architectures and the callbacks); spaCy also
finds them through the entry points in ``setup.cfg`` without an import.

The subpackages follow the data's way through the package, each importing only those above it:
``text`` → ``corpus`` → ``models`` → ``ml`` → ``pipeline`` → ``training`` → ``evaluate`` → ``annotate``
→ ``cli`` (``tests/test_layers.py`` checks it).
"""
from . import registrations  # noqa: F401  (registers the factories, architectures and extensions)
from .corpus.brat import BratDocument, BratEntity, Problem, parse_ann, read_brat_document, read_brat_folder
from .corpus.convert import ConversionReport, convert_brat_folder, iter_brat_folder_docs
from .corpus.docs import BRAT_SPANS_KEY, DOC_ID_KEY
from .corpus.export import export_docs_to_brat
from .corpus.flatten import flatten_entities
from .pipeline.component import ClinicalFlairNER
from .pipeline.precision import set_precision
from .pipeline.vote import CopyEnts, VoteEnts
from .text.sentences import ClinicalSentencizer
from .text.tokenizer import blank_pipeline, create_clinical_tokenizer

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
]
