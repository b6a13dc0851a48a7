"""What a saved model file may say: strict schemas for the JSON descriptions beside the tensors.

A safetensors file is only as safe as the description that tells the loader what to build. Flair's
constructors turn some parameters into I/O: ``CharacterEmbeddings(path_to_char_dict=<str>)`` unpickles
the file it names; ``TransformerWordEmbeddings`` without its saved tokenizer and config calls
``from_pretrained`` on any folder or hub id with any ``*_kwargs`` (``trust_remote_code`` imports code from
that folder); ``peft_config`` and the ``**kwargs`` go on to transformers. So a description is checked
here, before anything is built, against strict pydantic models, one per allowed class: every key known, every value of its
type and within bounds, every dictionary a list of strings inside the file, a transformer's tokenizer
and config inside the file and free of remote code (``auto_map``), and no parameter that names a file,
a hub model or code. :func:`read_header` reads the tensor names and shapes from the safetensors header
without loading a byte of them, so the loaders can compare the shapes that the description would build
(built first on PyTorch's ``meta`` device, which allocates nothing) with the file's before building.

Every check raises :class:`~.checks.DescriptionError` saying what is wrong; the loaders add the file's name. A
transformer's own config and tokenizer files are checked by :mod:`.transformer_schema`.
"""
import math
import struct
from typing import Annotated, Any, Callable, Dict, Generic, List, Literal, Mapping, Optional, Tuple, TypeVar, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from .checks import DICTIONARY_MARK, DescriptionError, _is_int, _show, checked_by, parse_json, validated
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
# pydantic models, strict (no coercion: "2" is not a number, 1 is not true) and closed (extra="forbid": a key the
# model does not declare, such as ``trust_remote_code`` or ``transformers_model_kwargs``, is refused). The checked
# description is returned as it was read; the models are the gate, never a source of defaults.


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


# value types, each a bound (pydantic checks the bounds; strict mode the type)
_NO_NUL = r"^[^\x00]*$"
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Weight = Annotated[float, Field(ge=0.0, le=1e6)]
Layers = Annotated[int, Field(ge=1, le=8)]
Size4K = Annotated[int, Field(ge=1, le=4096)]
Size8K = Annotated[int, Field(ge=1, le=8192)]
Size64K = Annotated[int, Field(ge=1, le=65536)]
Chunk = Annotated[int, Field(ge=1, le=1_000_000)]
ContextLength = Annotated[int, Field(ge=0, le=100_000)]
Text16 = Annotated[str, Field(max_length=16, pattern=_NO_NUL)]
Text100 = Annotated[str, Field(max_length=100, pattern=_NO_NUL)]
Text200 = Annotated[str, Field(max_length=200, pattern=_NO_NUL)]
Text500 = Annotated[str, Field(max_length=500, pattern=_NO_NUL)]
ItemText = Annotated[str, Field(max_length=MAX_ITEM_CHARS, pattern=_NO_NUL)]
LayerList = Annotated[str, Field(max_length=200, pattern=r"^(?:all|-?\d{1,3}(,-?\d{1,3})*)$")]


class FlairDictionary(_Closed):
    """A Flair Dictionary as JSON (``lm_io.dictionary_to_json``): its items are distinct texts, bounded."""
    items: Annotated[List[ItemText], Field(max_length=MAX_DICTIONARY_ITEMS)]
    add_unk: bool
    multi_label: bool = False
    span_labels: bool = False

    @field_validator("items")
    @classmethod
    def _distinct(cls, items: List[str]) -> List[str]:
        if len(set(items)) != len(items):
            raise ValueError("holds duplicate items")
        return items


class StoredDictionary(_Closed):
    """A Dictionary inside an embedding's parameters: ``{"__dictionary__": ...}`` (never a file name)."""
    dictionary: FlairDictionary = Field(alias="__dictionary__")  # checks.DICTIONARY_MARK

    @model_validator(mode="before")
    @classmethod
    def _stored_in_the_file(cls, value: Any) -> Any:
        if not isinstance(value, dict) or set(value) != {DICTIONARY_MARK}:
            raise ValueError(f"must be a dictionary stored in the file, not {_show(value)} (a model file may not "
                             "name a file to read)")
        return value


class _LMParameters(_Closed):
    """LanguageModel constructor parameters (``lm_io.lm_config`` and FlairEmbeddings' ``model_params``)."""
    is_forward_lm: bool
    hidden_size: Size8K
    nlayers: Layers
    embedding_size: Size4K = 100
    nout: Optional[Size8K] = None
    dropout: Fraction = 0.1
    document_delimiter: Text16 = "\n"
    recurrent_type: Literal["LSTM", "GRU", "RNN", "lstm", "gru", "rnn"] = "LSTM"
    has_decoder: bool = True


class LMConfig(_LMParameters):
    """The config of a stored LanguageModel (``lm_io.lm_config``): its dictionary inline."""
    embedding_size: Size4K
    dictionary: FlairDictionary


class TaggerParameters(_Closed):
    """SequenceTagger constructor parameters (``tagger_format.tagger_description``)."""
    tag_type: Text100 = "ner"
    tag_format: Literal["BIO", "BIOES"] = "BIOES"
    hidden_size: Size8K = 256
    rnn_layers: Layers = 1
    rnn_type: Literal["LSTM", "GRU", "RNN"] = "LSTM"
    bidirectional: bool = True
    use_rnn: bool = True
    use_crf: bool = True
    reproject_embeddings: Union[bool, Size64K] = True
    train_initial_hidden_state: bool = False
    dropout: Fraction = 0.0
    word_dropout: Fraction = 0.05
    locked_dropout: Fraction = 0.5
    loss_weights: Optional[Annotated[Dict[ItemText, Weight],
                                     Field(max_length=MAX_DICTIONARY_ITEMS)]] = None


class FlairModelParameters(_LMParameters):
    dictionary: StoredDictionary


class FlairParameters(_Closed):
    fine_tune: bool = False
    chars_per_chunk: Chunk = 512
    is_lower: bool = False
    tokenized_lm: bool = True
    name: Optional[Text200] = None
    with_whitespace: bool = True
    model_params: FlairModelParameters


class CharacterParameters(_Closed):
    path_to_char_dict: StoredDictionary
    char_embedding_dim: Size4K = 25
    hidden_size_char: Size4K = 25
    name: Text200 = "Char"


class OneHotParameters(_Closed):
    vocab_dictionary: StoredDictionary
    field: Text100 = "text"
    embedding_length: Size64K = 300
    stable: bool = False


class TransformerParameters(_Closed):
    """A transformer embedding: its tokenizer and config stored in the file (:mod:`.transformer_schema`);
    ``model`` is the name it was trained from, recorded and never loaded."""
    tokenizer_data: Annotated[Any, AfterValidator(checked_by(tokenizer_zip))]
    config_state_dict: Annotated[Any, AfterValidator(checked_by(transformer_config))]
    is_token_embedding: bool = True
    is_document_embedding: bool = False
    allow_long_sentences: bool = True
    context_length: ContextLength = 0
    context_dropout: Fraction = 0.5
    respect_document_boundaries: bool = True
    name: Optional[Text500] = None
    fine_tune: bool = True
    force_max_length: bool = False
    use_context_separator: bool = True
    cls_pooling: Literal["cls", "max", "mean"] = "cls"
    needs_manual_ocr: Optional[bool] = None
    model: Text500 = ""
    layers: LayerList = "all"
    layer_mean: bool = True
    subtoken_pooling: Literal["first", "last", "first_last", "mean"] = "first"


KindT = TypeVar("KindT")
ParametersT = TypeVar("ParametersT")


class Described(_Closed, Generic[KindT, ParametersT]):
    """One embedding's description: ``{"class": KIND, "parameters": {...}}``."""
    kind: KindT = Field(alias="class")
    parameters: ParametersT


FlairEmbeddingsDescription = Described[Literal["FlairEmbeddings"], FlairParameters]
CharacterEmbeddingsDescription = Described[Literal["CharacterEmbeddings"], CharacterParameters]
OneHotEmbeddingsDescription = Described[Literal["OneHotEmbeddings"], OneHotParameters]
TransformerEmbeddingsDescription = Described[Literal["TransformerWordEmbeddings"], TransformerParameters]


#: One embedding of the allow-list, chosen by its "class"; a stack holds only these.
MemberEmbedding = Annotated[Union[FlairEmbeddingsDescription, CharacterEmbeddingsDescription,
                                  OneHotEmbeddingsDescription, TransformerEmbeddingsDescription],
                            Field(discriminator="kind")]


class StackedEmbeddingsDescription(_Closed):
    kind: Literal["StackedEmbeddings"] = Field(alias="class")
    embeddings: Annotated[List[MemberEmbedding], Field(min_length=1, max_length=16)]


#: A tagger's embeddings: one of the allow-list, or a stack of 1 to 16 of them (a stack only at the top).
TaggerEmbeddings = Annotated[Union[StackedEmbeddingsDescription, FlairEmbeddingsDescription,
                                   CharacterEmbeddingsDescription, OneHotEmbeddingsDescription,
                                   TransformerEmbeddingsDescription], Field(discriminator="kind")]


class TaggerDescription(_Closed):
    kind: Literal["SequenceTagger"] = Field(alias="class")
    parameters: TaggerParameters
    tag_dictionary: FlairDictionary
    embeddings: TaggerEmbeddings


def lm_config(value: Any, where: str = "the LM config") -> Dict[str, Any]:
    """The config of a stored LanguageModel, checked against :class:`LMConfig` and returned as read."""
    return validated(LMConfig, value, where)


def tagger_description(value: Any) -> Dict[str, Any]:
    """A SequenceTagger description, every part checked against :class:`TaggerDescription`, returned as read."""
    return validated(TaggerDescription, value, "the tagger description")


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
