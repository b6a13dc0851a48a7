"""Flair SequenceTaggers as safetensors + JSON: a saved tagger loads without unpickling anything.

A Flair tagger's saved state is tensors plus plain parameters; its only non-tensor objects are
``flair.data.Dictionary`` instances (the tag dictionary, each LM's character dictionary, the
character and one-hot vocabularies), which are lists of strings, and for a stacked transformer its
config and its tokenizer's files (JSON and text, stored base64). :func:`tagger_to_bytes` writes every
tensor of the tagger's ``state_dict`` into one safetensors blob whose header metadata holds a JSON
description: the tagger's constructor parameters (``bidirectional`` included, which Flair's own save
drops), the embedding stack in order with each member's class and parameters (for LMs also
``with_whitespace`` and the recurrent type, which Flair's own save drops) and every dictionary as its
item list and flags. :func:`tagger_from_bytes` rebuilds the tagger from an allow-list of classes and
loads the tensors with ``strict=True``.

Flair's own ``.pt`` files are pickles: :func:`~.tagger_io.import_flair_tagger` converts one trusted file once.
"""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Tuple, Union

from .checks import BYTES_MARK, DICTIONARY_MARK
from .lm_io import dictionary_from_json, dictionary_to_json

if TYPE_CHECKING:
    from flair.embeddings import TokenEmbeddings
    from flair.models import SequenceTagger

    from .schema import TensorShapes

FORMAT_KEY = "clinical_flair_format"
FORMAT = "clinical_flair.sequence_tagger.v1"
DESCRIPTION_KEY = "clinical_flair_tagger"
#: The file a tagger is saved as (train-tagger's output folder, a component folder), and ensemble member i.
TAGGER_FILE = "model.safetensors"
MEMBER_FILE = "model-{}.safetensors"
#: Constructor parameters of SequenceTagger that the description records (besides embeddings and tags).
TAGGER_PARAMETERS = ("tag_type", "tag_format", "hidden_size", "rnn_layers", "rnn_type", "bidirectional", "use_rnn",
                     "use_crf", "reproject_embeddings", "train_initial_hidden_state")


class TaggerFormatError(ValueError):
    """A blob or file is not a tagger in this package's safe format, or describes one it cannot rebuild."""


class UnsupportedEmbeddingError(TaggerFormatError):
    """The tagger uses an embedding class that the safe format does not describe."""


# ---------------------------------------------------------------------------------------------- writing

def tagger_description(tagger: "SequenceTagger") -> Dict[str, Any]:
    """Everything but the tensors needed to rebuild ``tagger``, as JSON-able data."""
    parameters = {name: getattr(tagger, name) for name in TAGGER_PARAMETERS}
    parameters.update(dropout=float(tagger.use_dropout), word_dropout=float(tagger.use_word_dropout),
                      locked_dropout=float(tagger.use_locked_dropout), loss_weights=tagger.weight_dict)
    return {"class": "SequenceTagger", "parameters": parameters,
            "tag_dictionary": dictionary_to_json(tagger.label_dictionary),
            "embeddings": embedding_description(tagger.embeddings)}


def embedding_description(embedding: "TokenEmbeddings") -> Dict[str, Any]:
    """One embedding (a stack: each member in order) as class name + JSON-able parameters."""
    kind = type(embedding).__name__
    if kind not in EMBEDDING_BUILDERS:
        raise UnsupportedEmbeddingError(
            f"the tagger uses {kind}, which the safe format cannot save (supported: "
            f"{', '.join(sorted(EMBEDDING_BUILDERS))}); train the tagger with those embeddings")
    if kind == "StackedEmbeddings":
        return {"class": kind, "embeddings": [embedding_description(member) for member in embedding.embeddings]}  # type: ignore[union-attr]
    parameters = _jsonable(embedding.to_params())
    if kind == "FlairEmbeddings":
        parameters["with_whitespace"] = bool(embedding.with_whitespace)
        parameters["model_params"]["recurrent_type"] = str(getattr(embedding.lm, "recurrent_type", "LSTM"))
    return {"class": kind, "parameters": parameters}


def _jsonable(value: Any) -> Any:
    from flair.data import Dictionary

    if isinstance(value, Dictionary):
        return {DICTIONARY_MARK: dictionary_to_json(value)}
    if isinstance(value, (bytes, io.BytesIO)):  # a transformer's tokenizer files, zipped by Flair
        data = value.getvalue() if isinstance(value, io.BytesIO) else value
        return {BYTES_MARK: base64.b64encode(data).decode("ascii")}
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise UnsupportedEmbeddingError(f"an embedding parameter of type {type(value).__name__} cannot be saved as JSON")


def tagger_to_bytes(tagger: "SequenceTagger") -> bytes:
    """``tagger`` as safetensors bytes (every tensor of its state_dict) with its JSON description."""
    from safetensors.torch import save

    description = tagger_description(tagger)
    tensors = {name: tensor.detach().to("cpu").contiguous() for name, tensor in tagger.state_dict().items()}
    return save(tensors, metadata={FORMAT_KEY: FORMAT, DESCRIPTION_KEY: json.dumps(description)})


def save_tagger(tagger: "SequenceTagger", path: Union[str, Path]) -> Path:
    """Write ``tagger`` to ``path``: a ``.safetensors`` file, or a folder that gets ``model.safetensors``."""
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path / TAGGER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tagger_to_bytes(tagger))
    return path


# ---------------------------------------------------------------------------------------------- reading

def tagger_from_bytes(data: bytes, what: str = "the tagger") -> "SequenceTagger":
    """Rebuild the tagger :func:`tagger_to_bytes` wrote (eval mode, on the CPU); nothing is unpickled.

    The description is checked against :mod:`~.schema` (nothing in it can name a file, a hub model
    or code) and the tensor shapes it builds against the file's, before any tensor is allocated. Every
    failure is a :class:`TaggerFormatError` that names ``what``.
    """
    from safetensors.torch import load

    from .checks import DescriptionError
    from .flair_logging import quiet_flair
    from .lm_io import _on_cpu
    from .schema import built_shapes, compare_shapes

    description, shapes = read_description(data, what)
    try:
        with quiet_flair():
            compare_shapes(built_shapes(lambda: build_tagger_from_description(description, what)), shapes)
    except DescriptionError as err:
        raise TaggerFormatError(f"{what}: {err}; save the tagger again") from None
    except Exception as err:  # a trust boundary: whatever Flair, transformers or torch raise on a checked description
        raise TaggerFormatError(f"{what}: the description cannot be built ({type(err).__name__}: {err}); save the "
                                "tagger again") from None
    try:
        tensors = load(data)
        with quiet_flair():
            tagger = _on_cpu(lambda: build_tagger_from_description(description, what))
        tagger.load_state_dict(tensors, strict=True)
    except Exception as err:
        raise TaggerFormatError(f"{what}: the tensors cannot be loaded ({type(err).__name__}: {err}); the file is "
                                "truncated or corrupt, save the tagger again") from None
    tagger.eval()
    return tagger


def read_description(data: bytes, what: str) -> Tuple[Dict[str, Any], "TensorShapes"]:
    """The checked JSON description in a tagger blob's header (:func:`schema.tagger_description`)
    and the (dtype, shape) of each of its tensors, read without loading them."""
    from .checks import DescriptionError, parse_json
    from .schema import read_header
    from .schema import tagger_description as check_description

    try:
        metadata, shapes = read_header(data)
    except DescriptionError as err:
        raise TaggerFormatError(f"{what} is not a safetensors tagger ({err})") from None
    if metadata.get(FORMAT_KEY) != FORMAT:
        raise TaggerFormatError(f"{what} is not a clinical-flair tagger (format {metadata.get(FORMAT_KEY)!r}, "
                                f"expected {FORMAT!r})")
    if DESCRIPTION_KEY not in metadata:
        raise TaggerFormatError(f"{what}: the tagger description is missing from the header")
    try:
        return check_description(parse_json(metadata[DESCRIPTION_KEY], "the tagger description")), shapes
    except DescriptionError as err:
        raise TaggerFormatError(f"{what}: {err}") from None


def build_tagger_from_description(description: Dict[str, Any], what: str) -> "SequenceTagger":
    """An untrained SequenceTagger shaped as a checked ``description`` says (weights still to be loaded)."""
    from flair.models import SequenceTagger

    return SequenceTagger(embeddings=build_embedding(description["embeddings"], what),
                          tag_dictionary=dictionary_from_json(description["tag_dictionary"]),
                          init_from_state_dict=True, **description["parameters"])


def build_embedding(description: Dict[str, Any], what: str) -> "TokenEmbeddings":
    """The embedding a description names, from the allow-list only."""
    kind = description.get("class") if isinstance(description, dict) else None
    if kind not in EMBEDDING_BUILDERS:
        raise TaggerFormatError(f"{what}: embedding class {kind!r} is not one this package loads "
                                f"({', '.join(sorted(EMBEDDING_BUILDERS))})")
    return EMBEDDING_BUILDERS[kind](description, what)


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {DICTIONARY_MARK}:
            return dictionary_from_json(value[DICTIONARY_MARK])
        if set(value) == {BYTES_MARK}:
            return io.BytesIO(base64.b64decode(value[BYTES_MARK]))
        return {key: _from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    return value


def _stacked(description: Dict[str, Any], what: str):
    from flair.embeddings import StackedEmbeddings

    members = [build_embedding(member, what) for member in description["embeddings"]]
    return StackedEmbeddings(members, overwrite_names=False)


def _flair(description: Dict[str, Any], what: str):
    from flair.embeddings import FlairEmbeddings
    from flair.models import LanguageModel

    parameters = _from_json(description["parameters"])
    with_whitespace = parameters.pop("with_whitespace", True)
    lm = LanguageModel(**parameters.pop("model_params"))
    embedding = FlairEmbeddings(lm, **parameters)
    embedding.with_whitespace = with_whitespace
    return embedding


def _simple(class_name: str) -> Callable[[Dict[str, Any], str], Any]:
    def build(description: Dict[str, Any], what: str):
        import flair.embeddings

        return getattr(flair.embeddings, class_name).from_params(_from_json(description["parameters"]))
    return build


#: The allow-list: the embedding classes a saved tagger may contain, each with its builder.
EMBEDDING_BUILDERS: Dict[str, Callable[[Dict[str, Any], str], Any]] = {
    "StackedEmbeddings": _stacked,
    "FlairEmbeddings": _flair,
    "CharacterEmbeddings": _simple("CharacterEmbeddings"),
    "OneHotEmbeddings": _simple("OneHotEmbeddings"),
    # the model is rebuilt from its saved config (no hub or folder access), the tokenizer from its saved files
    "TransformerWordEmbeddings": _simple("TransformerWordEmbeddings"),
}


def load_tagger_file(path: Union[str, Path]) -> "SequenceTagger":
    """A tagger from a ``.safetensors`` file, or from a folder holding ``model.safetensors``."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / TAGGER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: pass a tagger saved by train-tagger (its output folder or "
                                f"its {TAGGER_FILE})")
    return tagger_from_bytes(path.read_bytes(), str(path))


def member_file_names(count: int) -> List[str]:
    """The file names of ``count`` taggers in a component folder: ``model.safetensors`` or ``model-0...``."""
    return [TAGGER_FILE] if count == 1 else [MEMBER_FILE.format(i) for i in range(count)]
