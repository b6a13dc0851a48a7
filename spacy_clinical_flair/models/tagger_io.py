"""Finding and loading Flair ``SequenceTagger`` models for the component, with errors that say what to do.

The package's own format (:mod:`spacy_clinical_flair.models.tagger_format`: safetensors + JSON) is what
``train-tagger`` writes and what pipelines hold; loading it unpickles nothing. Flair's ``.pt`` files are
Python pickles (``torch.load(..., weights_only=False)``): loading one can run arbitrary code, so they are
read only when a user names one (with a warning), and ``import-flair`` converts a trusted one once.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple, Union

from .flair_logging import quiet_flair
from .tagger_format import TAGGER_FILE, load_tagger_file, save_tagger

if TYPE_CHECKING:
    from flair.models import SequenceTagger

#: Tags that are not entity labels.
NON_ENTITY_TAGS = frozenset({"O", "<unk>", "<START>", "<STOP>", "_"})
SPAN_PREFIXES = ("B-", "I-", "E-", "S-", "L-", "U-")


class TaggerLoadError(ValueError):
    """A file or name could not be loaded as a Flair NER SequenceTagger."""


#: What a model name starts with to be fetched from Flair's model hub; any other name is a local path.
HUB_PREFIX = "hub:"


def hub_name(model: str) -> Optional[str]:
    """The Flair hub name in ``hub:NAME`` (``hub:ner``, ``hub:flair/ner-english``); None for a local path.

    Only an explicit prefix reaches the network: a local path that does not exist (``training/tagger`` run from
    another folder) fails at once as missing, instead of after the hub's retries."""
    return model[len(HUB_PREFIX):] if model.startswith(HUB_PREFIX) else None


def read_trusted_pickle(path: Path) -> Dict[str, Any]:
    """The state dict in a Flair ``.pt`` file: a pickle, so only for files the user trusts and names."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise TaggerLoadError(f"{path} is not a readable Flair model file ({type(err).__name__}: {err}); "
                              "it may be truncated or corrupt: save the tagger again") from err
    if not isinstance(state, dict):
        raise TaggerLoadError(f"{path} holds a {type(state).__name__}, not a Flair model state")
    return state


class PickleWarning(UserWarning):
    """A Flair ``.pt`` file (a pickle, which can run code when loaded) is being read."""


def tagger_from_state(state: Dict[str, Any], what: str) -> "SequenceTagger":
    """Build a SequenceTagger from a loaded state dict, checking it is one and is NER-like."""
    from flair.models import SequenceTagger

    kind = state.get("__cls__")
    if kind != "SequenceTagger":
        found = kind or ("a character language model" if "dictionary" in state and "is_forward_lm" in state
                         else "an unknown object")
        raise TaggerLoadError(f"{what} is not a Flair SequenceTagger (it is {found}); "
                              "pass the .pt file of a trained sequence tagger")
    with quiet_flair():
        tagger = SequenceTagger.load(dict(state))
    check_ner_like(tagger, what)
    return tagger


def check_ner_like(tagger: "SequenceTagger", what: str) -> None:
    """Raise unless the tagger predicts spans (BIO/BIOES tags), i.e. entities."""
    if not getattr(tagger, "predict_spans", False):
        sample = ", ".join(tagger.label_dictionary.get_items()[:6])
        raise TaggerLoadError(
            f"{what} predicts per-token tags of type {tagger.tag_type!r} ({sample}, ...), not entity spans: "
            "clinical_flair_ner needs a tagger trained on BIO/BIOES span labels (an NER tagger)")


def load_tagger(model: str) -> "SequenceTagger":
    """Load a tagger from this package's safe format (a ``.safetensors`` file or a ``train-tagger`` output
    folder), from a Flair ``.pt`` file (a pickle: warns), or from Flair's hub as ``hub:NAME`` where it is reachable."""
    path = Path(model).expanduser()
    if path.is_dir() or path.suffix == ".safetensors":
        tagger = load_tagger_file(path)
        check_ner_like(tagger, str(path))
        return tagger
    if path.is_file():
        warnings.warn(f"{path} is a Flair .pt file, a pickle: loading it can run code. Load only files you trust, "
                      f"or convert it once with `python -m spacy_clinical_flair import-flair {path} OUT_DIR` and "
                      f"use OUT_DIR ({TAGGER_FILE})", PickleWarning, stacklevel=2)
        return tagger_from_state(read_trusted_pickle(path), str(path))
    name = hub_name(model)
    if name is None:
        raise FileNotFoundError(f"model {model!r} does not exist; pass a tagger trained with train-tagger (its output "
                                f"folder or {TAGGER_FILE}), a Flair SequenceTagger .pt file, or {HUB_PREFIX}NAME for "
                                "a model on Flair's hub (config key 'model')")
    return _load_from_hub(name)


def _load_from_hub(name: str) -> "SequenceTagger":
    from flair.models import SequenceTagger

    try:
        with quiet_flair():
            tagger = SequenceTagger.load(name)
    except Exception as err:
        raise TaggerLoadError(
            f"could not load Flair model {name!r} from the model hub ({type(err).__name__}: {err}); without network "
            "access, download the model elsewhere and pass the local .pt path as 'model'") from err
    check_ner_like(tagger, name)
    return tagger


def entity_labels(tagger: "SequenceTagger") -> Tuple[str, ...]:
    """The entity types a tagger predicts, without BIOES prefixes, sorted."""
    labels = set()
    for tag in tagger.label_dictionary.get_items():
        if tag in NON_ENTITY_TAGS:
            continue
        labels.add(tag[2:] if tag.startswith(SPAN_PREFIXES) else tag)
    return tuple(sorted(labels))


def import_flair_tagger(pt_file: Union[str, Path], output: Union[str, Path]) -> Path:
    """Convert one trusted Flair ``.pt`` tagger (a pickle) to the safe format: ``output/model.safetensors``."""
    tagger = tagger_from_state(read_trusted_pickle(Path(pt_file)), str(pt_file))
    return save_tagger(tagger, Path(output))
