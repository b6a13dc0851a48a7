"""What a saved model file may say: strict schemas for the JSON descriptions beside the tensors.

A safetensors file is only as safe as the description that tells the loader what to build. Flair's
constructors turn some parameters into I/O: ``CharacterEmbeddings(path_to_char_dict=<str>)`` unpickles
the file it names; ``TransformerWordEmbeddings`` without its saved tokenizer and config calls
``from_pretrained`` on any folder or hub id with any ``*_kwargs`` (``trust_remote_code`` imports code from
that folder); ``peft_config`` and the ``**kwargs`` go on to transformers. So a description is checked
here, before anything is built, against a schema per allowed class: every key known, every value of its
type and within bounds, every dictionary a list of strings inside the file, a transformer's tokenizer
and config inside the file and free of remote code (``auto_map``), and no parameter that names a file,
a hub model or code. :func:`read_header` reads the tensor names and shapes from the safetensors header
without loading a byte of them, so the loaders can compare the shapes that the description would build
(built first on PyTorch's ``meta`` device, which allocates nothing) with the file's before building.

Every check raises :class:`~.checks.DescriptionError` saying what is wrong; the loaders add the file's name. A
transformer's own config and tokenizer files are checked by :mod:`.transformer_schema`.
"""
from __future__ import annotations

import math
import struct
from typing import Any, Callable, Dict, Iterable, Mapping, Tuple

from .checks import (
    DICTIONARY_MARK,
    Checker,
    DescriptionError,
    _is_int,
    _show,
    boolean,
    choice,
    either,
    fields,
    integer,
    number,
    optional,
    parse_json,
    text,
)
from .transformer_schema import tokenizer_zip, transformer_config

#: Bytes per element of the safetensors dtypes a model file may hold.
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
MAX_HEADER_BYTES = 64 * 2 ** 20
MAX_DICTIONARY_ITEMS = 2_000_000
MAX_ITEM_CHARS = 1_000

# ------------------------------------------------------------------------------------- the header

TensorShapes = Dict[str, Tuple[str, Tuple[int, ...]]]


def read_header(data: bytes) -> Tuple[Dict[str, str], TensorShapes]:
    """The ``__metadata__`` and each tensor's (dtype, shape) of a safetensors blob, checked against its size."""
    if len(data) < 8:
        raise DescriptionError("too short to be a safetensors file: it is truncated or corrupt")
    (length,) = struct.unpack("<Q", data[:8])
    if length > min(len(data) - 8, MAX_HEADER_BYTES):
        raise DescriptionError(f"the safetensors header claims {length} bytes, more than the file holds or "
                               f"{MAX_HEADER_BYTES} bytes: the file is truncated or corrupt")
    try:
        header = parse_json(data[8:8 + length], "the safetensors header")
    except DescriptionError as err:
        raise DescriptionError(f"{err}: the file is truncated or corrupt") from None
    if not isinstance(header, dict):
        raise DescriptionError("the safetensors header is not a JSON object: the file is corrupt")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise DescriptionError("the safetensors metadata is not a map of strings")
    body = len(data) - 8 - length
    shapes: TensorShapes = {}
    for name, entry in header.items():
        shapes[name] = _tensor_entry(name, entry, body)
    return metadata, shapes


def _tensor_entry(name: str, entry: Any, body: int) -> Tuple[str, Tuple[int, ...]]:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise DescriptionError(f"tensor {name!r}: its header entry is malformed")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPE_SIZES:
        raise DescriptionError(f"tensor {name!r}: dtype {dtype!r} is not one a model file holds")
    if not isinstance(shape, list) or len(shape) > 8 or not all(_is_int(d) and d >= 0 for d in shape):
        raise DescriptionError(f"tensor {name!r}: shape {shape!r} is not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
            and 0 <= offsets[0] <= offsets[1] <= body):
        raise DescriptionError(f"tensor {name!r}: its data lies outside the file: the file is truncated or corrupt")
    if offsets[1] - offsets[0] != math.prod(shape) * DTYPE_SIZES[dtype]:
        raise DescriptionError(f"tensor {name!r}: shape {shape} does not fit its {offsets[1] - offsets[0]} bytes")
    return dtype, tuple(shape)


def compare_shapes(built: Mapping[str, Tuple[int, ...]], stored: TensorShapes) -> None:
    """Raise unless the tensors a description builds are exactly the file's, name for name and shape for shape."""
    missing, extra = sorted(set(built) - set(stored)), sorted(set(stored) - set(built))
    if missing or extra:
        raise DescriptionError(f"the description does not match the tensors (missing from the file: "
                               f"{missing[:5]}, not in the description: {extra[:5]})")
    for name, shape in built.items():
        if tuple(shape) != stored[name][1]:
            raise DescriptionError(f"the description does not match the tensors: {name!r} would be "
                                   f"{tuple(shape)}, the file holds {stored[name][1]}")


# ------------------------------------------------------------------------------------- Flair parts



def dictionary(value: Any, where: str) -> Dict[str, Any]:
    """A Flair Dictionary as JSON (``lm_io.dictionary_to_json``): its items are strings, bounded."""
    data = fields(value, {"items": _items, "add_unk": boolean, "multi_label": boolean, "span_labels": boolean},
                  where, required=("items", "add_unk"))
    if len(set(data["items"])) != len(data["items"]):
        raise DescriptionError(f"{where}.items holds duplicate items")
    return data


def _items(value: Any, where: str) -> list:
    if not isinstance(value, list) or len(value) > MAX_DICTIONARY_ITEMS:
        raise DescriptionError(f"{where} must be a list of at most {MAX_DICTIONARY_ITEMS} texts")
    for item in value:
        if not isinstance(item, str) or len(item) > MAX_ITEM_CHARS:
            raise DescriptionError(f"{where} must hold texts of at most {MAX_ITEM_CHARS} characters, not {_show(item)}")
    return value


def marked_dictionary(value: Any, where: str) -> Dict[str, Any]:
    """A Dictionary inside an embedding's parameters: ``{"__dictionary__": ...}`` (never a file name)."""
    if not isinstance(value, dict) or set(value) != {DICTIONARY_MARK}:
        raise DescriptionError(f"{where} must be a dictionary stored in the file, not {_show(value)} (a model file "
                               "may not name a file to read)")
    return {DICTIONARY_MARK: dictionary(value[DICTIONARY_MARK], where)}


#: LanguageModel constructor parameters (lm_io.lm_config and FlairEmbeddings' model_params).
LM_PARAMETERS: Dict[str, Checker] = {
    "is_forward_lm": boolean, "hidden_size": integer(1, 8192), "nlayers": integer(1, 8),
    "embedding_size": integer(1, 4096), "nout": optional(integer(1, 8192)), "dropout": number(0.0, 1.0),
    "document_delimiter": text(16), "recurrent_type": choice("LSTM", "GRU", "RNN", "lstm", "gru", "rnn"),
    "has_decoder": boolean,
}


def lm_config(value: Any, where: str = "the LM config") -> Dict[str, Any]:
    """The config of a stored LanguageModel (``lm_io.lm_config``)."""
    return fields(value, {**LM_PARAMETERS, "dictionary": dictionary}, where,
                  required=("is_forward_lm", "hidden_size", "nlayers", "embedding_size", "dictionary"))


TAGGER_PARAMETERS: Dict[str, Checker] = {
    "tag_type": text(100), "tag_format": choice("BIO", "BIOES"), "hidden_size": integer(1, 8192),
    "rnn_layers": integer(1, 8), "rnn_type": choice("LSTM", "GRU", "RNN"), "bidirectional": boolean,
    "use_rnn": boolean, "use_crf": boolean, "reproject_embeddings": either(boolean, integer(1, 65536)),
    "train_initial_hidden_state": boolean, "dropout": number(0.0, 1.0), "word_dropout": number(0.0, 1.0),
    "locked_dropout": number(0.0, 1.0), "loss_weights": optional(lambda v, w: _loss_weights(v, w)),
}


def _loss_weights(value: Any, where: str) -> Dict[str, float]:
    if not isinstance(value, dict) or len(value) > MAX_DICTIONARY_ITEMS:
        raise DescriptionError(f"{where} must be a map of tags to numbers")
    for key, weight in value.items():
        text(MAX_ITEM_CHARS)(key, f"{where} key")
        number(0.0, 1e6)(weight, f"{where}[{key!r}]")
    return value


def tagger_description(value: Any) -> Dict[str, Any]:
    """A SequenceTagger description (``tagger_format.tagger_description``), every part checked."""
    data = fields(value, {"class": choice("SequenceTagger"), "parameters": lambda v, w: fields(v, TAGGER_PARAMETERS, w),
                          "tag_dictionary": dictionary, "embeddings": lambda v, w: embedding(v, w, top=True)},
                  "the tagger description", required=("class", "parameters", "tag_dictionary", "embeddings"))
    return data


def embedding(value: Any, where: str, top: bool = False) -> Dict[str, Any]:
    """One embedding of the allow-list; a stack only at the top, of at most 16 members."""
    kind = value.get("class") if isinstance(value, dict) else None
    kind = kind if isinstance(kind, str) else None
    allowed = EMBEDDING_SCHEMAS if top else {k: v for k, v in EMBEDDING_SCHEMAS.items() if k != "StackedEmbeddings"}
    if kind not in allowed:
        raise DescriptionError(f"{where}: embedding class {kind!r} is not one this package loads "
                               f"({', '.join(sorted(allowed))})")
    return allowed[kind](value, f"{where} ({kind})")


def _stacked(value: Any, where: str) -> Dict[str, Any]:
    data = fields(value, {"class": text(), "embeddings": lambda v, w: v}, where, required=("embeddings",))
    members = data["embeddings"]
    if not isinstance(members, list) or not 1 <= len(members) <= 16:
        raise DescriptionError(f"{where}.embeddings must be a list of 1 to 16 embeddings")
    data["embeddings"] = [embedding(member, f"{where}.embeddings[{i}]") for i, member in enumerate(members)]
    return data


def _flair(value: Any, where: str) -> Dict[str, Any]:
    spec = {"fine_tune": boolean, "chars_per_chunk": integer(1, 1_000_000), "is_lower": boolean,
            "tokenized_lm": boolean, "name": optional(text()), "with_whitespace": boolean,
            "model_params": lambda v, w: fields(v, {**LM_PARAMETERS, "dictionary": marked_dictionary}, w,
                                                required=("dictionary", "is_forward_lm", "hidden_size", "nlayers"))}
    return _with_parameters(value, where, spec, required=("model_params",))


def _character(value: Any, where: str) -> Dict[str, Any]:
    spec = {"path_to_char_dict": marked_dictionary, "char_embedding_dim": integer(1, 4096),
            "hidden_size_char": integer(1, 4096), "name": text()}
    return _with_parameters(value, where, spec, required=("path_to_char_dict",))


def _one_hot(value: Any, where: str) -> Dict[str, Any]:
    spec = {"vocab_dictionary": marked_dictionary, "field": text(100), "embedding_length": integer(1, 65536),
            "stable": boolean}
    return _with_parameters(value, where, spec, required=("vocab_dictionary",))


def _transformer(value: Any, where: str) -> Dict[str, Any]:
    spec = {"is_token_embedding": boolean, "is_document_embedding": boolean, "allow_long_sentences": boolean,
            "context_length": integer(0, 100_000), "context_dropout": number(0.0, 1.0),
            "respect_document_boundaries": boolean, "name": optional(text(500)), "fine_tune": boolean,
            "force_max_length": boolean, "use_context_separator": boolean, "cls_pooling": choice("cls", "max", "mean"),
            "needs_manual_ocr": optional(boolean), "tokenizer_data": tokenizer_zip,
            "model": text(500),  # the name it was trained from: recorded, never loaded (the config is in the file)
            "layers": text(200, r"all|-?\d{1,3}(,-?\d{1,3})*"), "layer_mean": boolean,
            "subtoken_pooling": choice("first", "last", "first_last", "mean"), "config_state_dict": transformer_config}
    return _with_parameters(value, where, spec, required=("tokenizer_data", "config_state_dict"))


def _with_parameters(value: Any, where: str, spec: Mapping[str, Checker], required: Iterable[str]) -> Dict[str, Any]:
    data = fields(value, {"class": text(), "parameters": lambda v, w: v}, where, required=("parameters",))
    data["parameters"] = fields(data["parameters"], spec, f"{where}.parameters", required)
    return data


EMBEDDING_SCHEMAS: Dict[str, Callable[[Any, str], Dict[str, Any]]] = {
    "StackedEmbeddings": _stacked,
    "FlairEmbeddings": _flair,
    "CharacterEmbeddings": _character,
    "OneHotEmbeddings": _one_hot,
    "TransformerWordEmbeddings": _transformer,
}


def built_shapes(build: Callable[[], Any]) -> Dict[str, Tuple[int, ...]]:
    """The state_dict shapes of the module ``build`` makes, made on PyTorch's ``meta`` device (no memory),
    with Flair's device set to it too (Flair's constructors move themselves to ``flair.device``)."""
    import flair
    import torch

    device, flair.device = flair.device, torch.device("meta")
    try:
        with torch.device("meta"):
            module = build()
        return {name: tuple(tensor.shape) for name, tensor in module.state_dict().items()}
    finally:
        flair.device = device
