"""Character language models as safetensors + JSON: no pickle anywhere in the load path.

A Flair ``LanguageModel`` is tensors plus a few constructor parameters and a character
``Dictionary`` (a list of strings). :func:`lm_to_bytes` writes all of it as one safetensors
blob whose header metadata holds the JSON description; :func:`lm_from_bytes` rebuilds the model
from that description and loads the tensors with ``strict=True``. The same bytes are the ``.safetensors``
files that ship in ``assets/lms/`` and the LM weights inside a saved pipeline.

:func:`load_language_model` reads either format: our ``.safetensors`` files, or Flair's own ``.pt``
files (pickles: load only files you trust; Flair's own loader, for LMs trained with Flair).
"""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Union

if TYPE_CHECKING:
    from flair.data import Dictionary
    from flair.models import LanguageModel

#: Metadata key and format name written into every LM file.
FORMAT_KEY = "clinical_flair_format"
FORMAT = "clinical_flair.language_model.v1"
CONFIG_KEY = "clinical_flair_config"
SAFETENSORS_SUFFIX = ".safetensors"


class LMFileError(ValueError):
    """A file could not be read as a character language model."""


def dictionary_to_json(dictionary: "Dictionary") -> Dict[str, Any]:
    """A Flair Dictionary as JSON-able data (its items in index order and its flags)."""
    return {"items": dictionary.get_items(), "add_unk": bool(dictionary.add_unk),
            "multi_label": bool(dictionary.multi_label), "span_labels": bool(dictionary.span_labels)}


def dictionary_from_json(data: Dict[str, Any]) -> "Dictionary":
    """The Flair Dictionary that :func:`dictionary_to_json` described, with the same indices."""
    from flair.data import Dictionary

    dictionary = Dictionary(add_unk=False)
    for item in data["items"]:
        dictionary.add_item(item)
    if len(dictionary) != len(data["items"]):
        raise LMFileError("the dictionary holds duplicate items")
    dictionary.add_unk = bool(data["add_unk"])
    dictionary.multi_label = bool(data.get("multi_label", False))
    dictionary.span_labels = bool(data.get("span_labels", False))
    return dictionary


def lm_config(lm: "LanguageModel") -> Dict[str, Any]:
    """Everything but the tensors needed to rebuild ``lm``."""
    return {
        "is_forward_lm": bool(lm.is_forward_lm), "hidden_size": int(lm.hidden_size), "nlayers": int(lm.nlayers),
        "embedding_size": int(lm.embedding_size), "nout": lm.nout, "dropout": float(lm.dropout),
        "document_delimiter": getattr(lm, "document_delimiter", "\n"),
        "recurrent_type": str(getattr(lm, "recurrent_type", "LSTM")), "has_decoder": lm.decoder is not None,
        "dictionary": dictionary_to_json(lm.dictionary),
    }


def lm_to_bytes(lm: "LanguageModel", half: bool = False) -> bytes:
    """``lm`` as safetensors bytes with its JSON config in the header; ``half`` stores float16 tensors."""
    from safetensors.torch import save

    tensors = {}
    for name, tensor in lm.state_dict().items():
        tensor = tensor.detach().to("cpu").contiguous()
        tensors[name] = tensor.half() if half and tensor.is_floating_point() else tensor
    return save(tensors, metadata={FORMAT_KEY: FORMAT, CONFIG_KEY: json.dumps(lm_config(lm))})


def read_metadata(data: bytes) -> Dict[str, str]:
    """The ``__metadata__`` of a safetensors blob (its header is 8 bytes of length, then JSON)."""
    if len(data) < 8:
        raise LMFileError("too short to be a safetensors file")
    (length,) = struct.unpack("<Q", data[:8])
    if length > len(data) - 8:
        raise LMFileError("the safetensors header is truncated")
    try:
        header = json.loads(data[8:8 + length])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LMFileError(f"the safetensors header is not JSON ({err})") from err
    return header.get("__metadata__") or {}


def lm_from_bytes(data: bytes, has_decoder: bool = True) -> "LanguageModel":
    """Rebuild the LanguageModel that :func:`lm_to_bytes` wrote (float32, eval mode, on the CPU)."""
    import flair
    import torch
    from flair.models import LanguageModel
    from safetensors.torch import load

    metadata = read_metadata(data)
    if metadata.get(FORMAT_KEY) != FORMAT:
        raise LMFileError(f"not a clinical-flair language model (format {metadata.get(FORMAT_KEY)!r}, "
                          f"expected {FORMAT!r})")
    config = json.loads(metadata[CONFIG_KEY])
    tensors = load(data)
    keep_decoder = bool(config["has_decoder"]) and has_decoder
    device, flair.device = flair.device, torch.device("cpu")  # the constructor moves itself to flair.device
    try:
        lm = LanguageModel(
            dictionary_from_json(config["dictionary"]), is_forward_lm=config["is_forward_lm"],
            hidden_size=config["hidden_size"], nlayers=config["nlayers"], embedding_size=config["embedding_size"],
            nout=config["nout"], document_delimiter=config["document_delimiter"], dropout=config["dropout"],
            recurrent_type=config["recurrent_type"], has_decoder=keep_decoder)
    finally:
        flair.device = device
    if not keep_decoder:
        tensors = {name: value for name, value in tensors.items() if not name.startswith("decoder.")}
    state = {name: value.float() if value.is_floating_point() else value for name, value in tensors.items()}
    lm.load_state_dict(state, strict=True)
    lm.eval()
    return lm


def save_language_model(lm: "LanguageModel", path: Union[str, Path], half: bool = False) -> Path:
    """Write ``lm`` to ``path`` (a ``.safetensors`` file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(lm_to_bytes(lm, half=half))
    return path


def load_language_model(path: Union[str, Path], has_decoder: bool = True) -> "LanguageModel":
    """A LanguageModel from a ``.safetensors`` file of this package or a Flair ``.pt`` file (a pickle)."""
    from flair.models import LanguageModel

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"language model file {path} does not exist")
    if path.suffix == SAFETENSORS_SUFFIX:
        return lm_from_bytes(path.read_bytes(), has_decoder=has_decoder)
    try:
        lm = LanguageModel.load_language_model(path, has_decoder=has_decoder)
    except Exception as err:
        raise LMFileError(f"{path} is not a Flair language model file ({type(err).__name__}: {err})") from err
    lm.eval()
    return lm
