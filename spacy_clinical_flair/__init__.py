"""spacy-clinical-flair: Flair character-LM sequence taggers in spaCy for clinical NER.

Importing the package registers the spaCy factories (``clinical_sentencizer``,
``clinical_flair_ner``, ``clinical_flair_vote``, ``clinical_flair_copy_ents``) and the tokenizer ``clinical_flair.tokenizer.v1``; spaCy also finds them
through the ``spacy_factories`` / ``spacy_tokenizers`` entry points without an import.
"""
from .component import ClinicalFlairNER
from .brat import BratDocument, BratEntity, Problem, parse_ann, read_brat_document, read_brat_folder
from .convert import ConversionReport, convert_brat_folder, iter_brat_folder_docs
from .docs import BRAT_SPANS_KEY, DOC_ID_KEY
from .export import export_docs_to_brat
from .flatten import flatten_entities
from .set_precision import set_precision
from .sentences import ClinicalSentencizer
from .tokenizer import blank_pipeline, create_clinical_tokenizer
from .vote import CopyEnts, VoteEnts

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
