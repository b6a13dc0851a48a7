"""Loading and saving Flair ``SequenceTagger`` files, with errors that say what to do.

Flair model files are Python pickles (``torch.load(..., weights_only=False)``): loading one can
run arbitrary code. Load only files you trust.
"""
from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Sequence, Tuple, Union

if TYPE_CHECKING:
    from flair.models import SequenceTagger

#: Tags that are not entity labels.
NON_ENTITY_TAGS = frozenset({"O", "<unk>", "<START>", "<STOP>", "_"})
SPAN_PREFIXES = ("B-", "I-", "E-", "S-", "L-", "U-")


class TaggerLoadError(ValueError):
    """A file or name could not be loaded as a Flair NER SequenceTagger."""


def looks_like_path(model: str) -> bool:
    """Whether ``model`` names a file rather than a model on Flair's hub (``ner``, ``flair/ner-x``)."""
    if model.startswith((".", "/", "~")) or "\\" in model or model.endswith((".pt", ".bin", ".pth")):
        return True
    return model.count("/") > 1  # 'org/name' is a hub id; deeper paths are files


def _read_state(source: Union[str, Path, bytes], what: str) -> Dict[str, Any]:
    import torch

    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
        with stream:
            state = torch.load(stream, map_location="cpu", weights_only=False)
    except Exception as err:
        raise TaggerLoadError(f"{what} is not a readable Flair model file ({type(err).__name__}: {err}); "
                              "it may be truncated or corrupt: save the tagger again") from err
    if not isinstance(state, dict):
        raise TaggerLoadError(f"{what} holds a {type(state).__name__}, not a Flair model state")
    return state


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


@contextlib.contextmanager
def quiet_flair():
    """Silence Flair's INFO lines ("SequenceTagger predicts: ...") that it prints to stdout on every load."""
    logger = logging.getLogger("flair")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def check_ner_like(tagger: "SequenceTagger", what: str) -> None:
    """Raise unless the tagger predicts spans (BIO/BIOES tags), i.e. entities."""
    if not getattr(tagger, "predict_spans", False):
        sample = ", ".join(tagger.label_dictionary.get_items()[:6])
        raise TaggerLoadError(
            f"{what} predicts per-token tags of type {tagger.tag_type!r} ({sample}, ...), not entity spans: "
            "clinical_flair_ner needs a tagger trained on BIO/BIOES span labels (an NER tagger)")


def load_tagger(model: str) -> "SequenceTagger":
    """Load a tagger from a local ``.pt`` file, or from Flair's hub by name where it is reachable."""
    path = Path(model).expanduser()
    if path.is_file():
        return tagger_from_state(_read_state(path, str(path)), str(path))
    if path.is_dir():
        raise TaggerLoadError(f"model {model!r} is a folder; pass the tagger's .pt file")
    if looks_like_path(model):
        raise FileNotFoundError(f"model file {model!r} does not exist; pass the path of a trained Flair "
                                "SequenceTagger .pt file (config key 'model')")
    return _load_from_hub(model)


def _load_from_hub(name: str) -> "SequenceTagger":
    from flair.models import SequenceTagger

    try:
        with quiet_flair():
            tagger = SequenceTagger.load(name)
    except Exception as err:
        raise TaggerLoadError(
            f"could not load Flair model {name!r} from the model hub ({type(err).__name__}: {err}). Without network "
            "access, download it elsewhere and pass the local .pt path as 'model'") from err
    check_ner_like(tagger, name)
    return tagger


def tagger_state(tagger: "SequenceTagger") -> Dict[str, Any]:
    """What Flair's own ``save`` writes, as a dict."""
    state = tagger._get_state_dict()
    if hasattr(tagger, "model_card"):
        state["model_card"] = tagger.model_card
    return state


def tagger_to_bytes(tagger: "SequenceTagger") -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(tagger_state(tagger), buffer, pickle_protocol=4)
    return buffer.getvalue()


def tagger_from_bytes(data: bytes) -> "SequenceTagger":
    return tagger_from_state(_read_state(data, "the serialized tagger"), "the serialized tagger")


def entity_labels(tagger: "SequenceTagger") -> Tuple[str, ...]:
    """The entity types a tagger predicts, without BIOES prefixes, sorted."""
    labels = set()
    for tag in tagger.label_dictionary.get_items():
        if tag in NON_ENTITY_TAGS:
            continue
        labels.add(tag[2:] if tag.startswith(SPAN_PREFIXES) else tag)
    return tuple(sorted(labels))


#: File name of a single tagger inside a component folder, and of ensemble member ``i``.
MODEL_FILE = "model.pt"
MEMBER_FILE = "model-{}.pt"


def tagger_file_names(count: int) -> List[str]:
    """The file names a set of ``count`` taggers is saved under: ``model.pt``, or ``model-0.pt``, ..."""
    return [MODEL_FILE] if count == 1 else [MEMBER_FILE.format(i) for i in range(count)]


def saved_tagger_files(folder: Path) -> List[Path]:
    """The tagger files in a component folder, in member order (empty when there are none)."""
    if (folder / MODEL_FILE).is_file():
        return [folder / MODEL_FILE]
    members = []
    while (folder / MEMBER_FILE.format(len(members))).is_file():
        members.append(folder / MEMBER_FILE.format(len(members)))
    return members


def remove_tagger_files(folder: Path) -> None:
    """Delete the tagger files of an earlier save, so a smaller ensemble does not inherit extra members."""
    for old in [folder / MODEL_FILE, *folder.glob(MEMBER_FILE.format("*"))]:
        old.unlink(missing_ok=True)


def taggers_to_bytes(taggers: Sequence["SequenceTagger"]) -> List[bytes]:
    return [tagger_to_bytes(tagger) for tagger in taggers]


def taggers_from_bytes(blobs: Sequence[bytes]) -> List["SequenceTagger"]:
    return [tagger_from_bytes(blob) for blob in blobs]
