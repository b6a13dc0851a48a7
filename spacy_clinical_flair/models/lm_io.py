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
    """The ``__metadata__`` of a safetensors blob, the header checked (:func:`schema.read_header`)."""
    from .checks import DescriptionError
    from .schema import read_header

    try:
        return read_header(data)[0]
    except DescriptionError as err:
        raise LMFileError(str(err)) from None


def lm_from_bytes(data: bytes, has_decoder: bool = True, what: str = "the language model") -> "LanguageModel":
    """Rebuild the LanguageModel that :func:`lm_to_bytes` wrote (float32, eval mode, on the CPU).

    The JSON config is checked against :func:`schema.lm_config` and the shapes it builds against the
    file's tensors before anything is allocated; every failure is an :class:`LMFileError` naming ``what``.
    """
    from .checks import DescriptionError, parse_json
    from .schema import built_shapes, compare_shapes, read_header
    from .schema import lm_config as check_config

    try:
        metadata, shapes = read_header(data)
        if metadata.get(FORMAT_KEY) != FORMAT:
            raise DescriptionError(f"not a clinical-flair language model (format {metadata.get(FORMAT_KEY)!r}, "
                                   f"expected {FORMAT!r})")
        if CONFIG_KEY not in metadata:
            raise DescriptionError("the LM config is missing from the header")
        config = check_config(parse_json(metadata[CONFIG_KEY], "the LM config"))
        compare_shapes(built_shapes(lambda: _build_lm(config, bool(config.get("has_decoder", True)))), shapes)
    except DescriptionError as err:
        raise LMFileError(f"{what}: {err}") from None
    except Exception as err:  # a trust boundary: whatever Flair or torch raise on a checked config
        raise LMFileError(f"{what}: the LM config cannot be built ({type(err).__name__}: {err})") from None
    keep_decoder = bool(config.get("has_decoder", True)) and has_decoder
    try:
        from safetensors.torch import load

        tensors = load(data)
        lm = _on_cpu(lambda: _build_lm(config, keep_decoder))
        if not keep_decoder:
            tensors = {name: value for name, value in tensors.items() if not name.startswith("decoder.")}
        lm.load_state_dict({name: value.float() if value.is_floating_point() else value
                            for name, value in tensors.items()}, strict=True)
    except Exception as err:
        raise LMFileError(f"{what}: the tensors cannot be loaded ({type(err).__name__}: {err}); the file is "
                          "truncated or corrupt") from None
    lm.eval()
    return lm


def _build_lm(config: Dict[str, Any], has_decoder: bool) -> "LanguageModel":
    from flair.models import LanguageModel

    return LanguageModel(
        dictionary_from_json(config["dictionary"]), is_forward_lm=config["is_forward_lm"],
        hidden_size=config["hidden_size"], nlayers=config["nlayers"], embedding_size=config["embedding_size"],
        nout=config.get("nout"), document_delimiter=config.get("document_delimiter", "\n"),
        dropout=config.get("dropout", 0.1), recurrent_type=config.get("recurrent_type", "LSTM"),
        has_decoder=has_decoder)


def _on_cpu(build):
    """``build()`` with Flair's device set to the CPU (its constructors move themselves to ``flair.device``)."""
    import flair
    import torch

    device, flair.device = flair.device, torch.device("cpu")
    try:
        return build()
    finally:
        flair.device = device


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
        return lm_from_bytes(path.read_bytes(), has_decoder=has_decoder, what=str(path))
    try:
        lm = LanguageModel.load_language_model(path, has_decoder=has_decoder)
    except Exception as err:
        raise LMFileError(f"{path} is not a Flair language model file ({type(err).__name__}: {err})") from err
    lm.eval()
    return lm
