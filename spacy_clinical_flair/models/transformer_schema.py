"""What a saved transformer embedding may hold: its transformers config and its zipped tokenizer files.

Part of the model-file schema (:mod:`.schema`): a config of a model type transformers knows, free of remote
code (``auto_map``, ``trust_remote_code``); tokenizer files with flat names and bounded sizes, a fast tokenizer
(``tokenizer.json``) of an allowed class, allow-listed settings, and no setting that names a file or a folder
(transformers reads any ``*_file`` a tokenizer config names, wherever it points).
"""
from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile
from typing import Any, Dict

from .checks import BYTES_MARK, DescriptionError, _is_int, _show, parse_json

MAX_TOKENIZER_BYTES = 64 * 2 ** 20
MAX_TOKENIZER_FILES = 32
#: Keys of a transformer config (or tokenizer config) that make transformers import or fetch code.
REMOTE_CODE_KEYS = frozenset({"auto_map", "trust_remote_code", "custom_pipelines", "quantization_config"})
TOKENIZER_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$")


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
