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

Every check raises :class:`DescriptionError` saying what is wrong; the loaders add the file's name.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
import struct
import zipfile
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple

#: Bytes per element of the safetensors dtypes a model file may hold.
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
MAX_HEADER_BYTES = 64 * 2 ** 20
MAX_DICTIONARY_ITEMS = 2_000_000
MAX_ITEM_CHARS = 1_000
MAX_TOKENIZER_BYTES = 64 * 2 ** 20
MAX_TOKENIZER_FILES = 32
#: Keys of a transformer config (or tokenizer config) that make transformers import or fetch code.
REMOTE_CODE_KEYS = frozenset({"auto_map", "trust_remote_code", "custom_pipelines", "quantization_config"})
TOKENIZER_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$")

Checker = Callable[[Any, str], Any]


class DescriptionError(ValueError):
    """A model file's header or description is malformed or asks for something a model file may not."""


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


def parse_json(text: Any, what: str) -> Any:
    """``json.loads`` whose every failure (bad bytes, bad JSON, nesting too deep) is a DescriptionError."""
    try:
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError, TypeError) as err:
        raise DescriptionError(f"{what} is not valid JSON ({type(err).__name__}: {str(err)[:200]})") from None


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


# ------------------------------------------------------------------------------------- checkers

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise DescriptionError(f"{where} must be true or false, not {_show(value)}")
    return value


def integer(low: int, high: int) -> Checker:
    def check(value: Any, where: str) -> int:
        if not _is_int(value) or not low <= value <= high:
            raise DescriptionError(f"{where} must be a whole number from {low} to {high}, not {_show(value)}")
        return value
    return check


def number(low: float, high: float) -> Checker:
    def check(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise DescriptionError(f"{where} must be a number from {low} to {high}, not {_show(value)}")
        return value
    return check


def text(max_chars: int = 200, pattern: Optional[str] = None) -> Checker:
    compiled = re.compile(pattern) if pattern else None

    def check(value: Any, where: str) -> str:
        if not isinstance(value, str) or len(value) > max_chars or "\x00" in value:
            raise DescriptionError(f"{where} must be a text of at most {max_chars} characters, not {_show(value)}")
        if compiled is not None and not compiled.fullmatch(value):
            raise DescriptionError(f"{where} {_show(value)} is not of the form {pattern}")
        return value
    return check


def choice(*values: Any) -> Checker:
    def check(value: Any, where: str) -> Any:
        if isinstance(value, bool) or value not in values:
            raise DescriptionError(f"{where} must be one of {', '.join(map(repr, values))}, not {_show(value)}")
        return value
    return check


def optional(checker: Checker) -> Checker:
    def check(value: Any, where: str) -> Any:
        return None if value is None else checker(value, where)
    return check


def either(*checkers: Checker) -> Checker:
    def check(value: Any, where: str) -> Any:
        errors = []
        for checker in checkers:
            try:
                return checker(value, where)
            except DescriptionError as err:
                errors.append(str(err))
        raise DescriptionError(" or ".join(errors))
    return check


def fields(value: Any, spec: Mapping[str, Checker], where: str, required: Iterable[str] = ()) -> Dict[str, Any]:
    """``value`` as a dict whose keys are all in ``spec`` (and ``required`` present), each value checked."""
    if not isinstance(value, dict):
        raise DescriptionError(f"{where} must be a JSON object, not {_show(value)}")
    unknown = sorted(set(value) - set(spec))
    if unknown:
        raise DescriptionError(f"{where}: unknown parameter(s) {', '.join(map(repr, unknown[:8]))} (a model file "
                               f"may hold only {', '.join(sorted(spec))})")
    absent = [key for key in required if key not in value]
    if absent:
        raise DescriptionError(f"{where}: required parameter(s) {', '.join(map(repr, absent))} missing")
    return {key: spec[key](item, f"{where}.{key}") for key, item in value.items()}


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


# ------------------------------------------------------------------------------------- Flair parts

DICTIONARY_MARK = "__dictionary__"
BYTES_MARK = "__base64__"


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


def transformer_config(value: Any, where: str) -> Dict[str, Any]:
    """A transformers config as a dict: a known model type, no remote code, plain JSON values, bounded sizes."""
    from transformers import CONFIG_MAPPING

    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise DescriptionError(f"{where} must be a JSON object")
    _no_remote_code(value, where)
    if not isinstance(value.get("model_type"), str) or value["model_type"] not in CONFIG_MAPPING:
        raise DescriptionError(f"{where}.model_type {_show(value.get('model_type'))} is not a model type "
                               "transformers knows")
    attention = value.get("attn_implementation")
    if attention not in (None, "eager", "sdpa"):
        raise DescriptionError(f"{where}.attn_implementation must be 'eager' or 'sdpa', not {_show(attention)}")
    for key, item in value.items():
        if _is_int(item) and abs(item) > 10_000_000:
            raise DescriptionError(f"{where}.{key} = {item} is out of bounds")
    return value


def _no_remote_code(value: Any, where: str) -> None:
    if isinstance(value, dict):
        found = REMOTE_CODE_KEYS & set(value)
        if found:
            raise DescriptionError(f"{where} asks for {', '.join(sorted(found))}: a model file may not import or "
                                   "fetch code")
        for key, item in value.items():
            _no_remote_code(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _no_remote_code(item, where)


def tokenizer_zip(value: Any, where: str) -> Dict[str, str]:
    """A transformer's tokenizer files, zipped by Flair and stored base64: flat names, bounded, no remote code."""
    if not isinstance(value, dict) or set(value) != {BYTES_MARK} or not isinstance(value[BYTES_MARK], str):
        raise DescriptionError(f"{where} must be the tokenizer's files stored in the file")
    if len(value[BYTES_MARK]) > MAX_TOKENIZER_BYTES * 4 // 3 + 4:
        raise DescriptionError(f"{where} is larger than {MAX_TOKENIZER_BYTES} bytes")
    try:
        data = base64.b64decode(value[BYTES_MARK], validate=True)
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (binascii.Error, ValueError, zipfile.BadZipFile, OSError, EOFError) as err:
        raise DescriptionError(f"{where} is not a zip of tokenizer files ({err})") from None
    if not 1 <= len(members) <= MAX_TOKENIZER_FILES:
        raise DescriptionError(f"{where} must hold 1 to {MAX_TOKENIZER_FILES} files, not {len(members)}")
    if sum(member.file_size for member in members) > MAX_TOKENIZER_BYTES:
        raise DescriptionError(f"{where} unpacks to more than {MAX_TOKENIZER_BYTES} bytes")
    for member in members:
        if not TOKENIZER_FILE_NAME.fullmatch(member.filename) or member.filename.endswith(".py"):
            raise DescriptionError(f"{where} holds {member.filename!r}: only plain tokenizer file names, no folders "
                                   "or code")
    names = {member.filename for member in members}
    for name in ("tokenizer_config.json", "special_tokens_map.json", "config.json"):
        if name in names:
            try:
                config = parse_json(archive.read(name), f"{where} {name}")
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as err:
                raise DescriptionError(f"{where} {name} cannot be read ({err})") from None
            _no_remote_code(config, f"{where} {name}")
            if name in TOKENIZER_JSON_KEYS:
                _tokenizer_settings(config, TOKENIZER_JSON_KEYS[name], f"{where} {name}")
    if "tokenizer_config.json" not in names or "tokenizer.json" not in names:
        raise DescriptionError(f"{where} must hold tokenizer_config.json and tokenizer.json (a fast tokenizer, "
                               "built from the stored files alone)")
    return value


#: The tokenizers a stored tokenizer may name: the model types this package supports (BERT, RoBERTa, XLM-R,
#: DeBERTa-v2, DistilBERT, ELECTRA, CamemBERT), each built from the zip's ``tokenizer.json`` (the fast tokenizer),
#: whose constructor reads no file outside the zip. transformers saves a fast tokenizer under its slow name too.
TOKENIZER_CLASSES = frozenset(f"{model}Tokenizer{fast}" for model in (
    "Bert", "Roberta", "XLMRoberta", "DebertaV2", "DistilBert", "Electra", "Camembert") for fast in ("", "Fast")
) | {"PreTrainedTokenizerFast"}
_SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
                   "additional_special_tokens")
#: The keys ``tokenizer_config.json`` / ``special_tokens_map.json`` may hold: settings and special tokens, never
#: a key that names a file, a folder or extra constructor arguments (``vocab_file``, ``sp_model_kwargs``, ...).
TOKENIZER_CONFIG_KEYS = frozenset({
    "add_bos_token", "add_eos_token", "add_prefix_space", "added_tokens_decoder", "clean_up_tokenization_spaces",
    "do_basic_tokenize", "do_lower_case", "errors", "extra_special_tokens", "legacy", "max_length",
    "model_input_names", "model_max_length", "never_split", "pad_to_multiple_of", "pad_token_type_id",
    "padding_side", "split_by_punct", "split_special_tokens", "stride", "strip_accents", "tokenize_chinese_chars",
    "tokenizer_class", "trim_offsets", "truncation_side", "truncation_strategy", "use_fast", "verbose",
    *_SPECIAL_TOKENS})
SPECIAL_TOKENS_MAP_KEYS = frozenset(_SPECIAL_TOKENS)
TOKENIZER_JSON_KEYS = {"tokenizer_config.json": TOKENIZER_CONFIG_KEYS,
                       "special_tokens_map.json": SPECIAL_TOKENS_MAP_KEYS}


_FILE_LIKE_KEY = re.compile(r"(_file|_files|_path|_dir|_kwargs)$")
_FILE_LIKE_VALUE = re.compile(r"^(/.|~|[A-Za-z]:[\\/]|\\\\)|(^|[\\/])\.\.([\\/]|$)")


def _tokenizer_settings(config: Any, allowed: frozenset, where: str) -> None:
    """``tokenizer_config.json`` or ``special_tokens_map.json``: a JSON object of allowed keys whose values
    name no file (no absolute or ``..`` path, no key like ``*_file`` at any depth); in the config, a
    ``tokenizer_class`` from :data:`TOKENIZER_CLASSES`."""
    if not isinstance(config, dict):
        raise DescriptionError(f"{where} must be a JSON object")
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise DescriptionError(f"{where} has key(s) {', '.join(map(_show, unknown[:5]))} that a stored tokenizer "
                               "may not have (only settings and special tokens; nothing that names a file)")
    _no_file_values(config, where)
    if "tokenizer_class" in allowed:
        name = config.get("tokenizer_class")
        if name not in TOKENIZER_CLASSES:
            raise DescriptionError(f"{where}: tokenizer_class {_show(name)} is not one this package loads "
                                   f"({', '.join(sorted(TOKENIZER_CLASSES))})")


def _no_file_values(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if _FILE_LIKE_KEY.search(str(key)):
                raise DescriptionError(f"{where} has key {_show(key)}: a stored tokenizer may not name a file")
            _no_file_values(item, where)
    elif isinstance(value, list):
        for item in value:
            _no_file_values(item, where)
    elif isinstance(value, str) and _FILE_LIKE_VALUE.search(value):
        raise DescriptionError(f"{where} holds the path {_show(value)}: a stored tokenizer may not name a file")


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
