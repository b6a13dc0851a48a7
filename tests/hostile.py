"""Hostile model files for the loader tests and benchmarks/fuzz_loader.py: payloads that write a marker file
when something executes them, descriptions edited in place, and a seeded mutator of JSON descriptions."""
from __future__ import annotations

import copy
import json
import pickle
import random
import struct
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

DESCRIPTION_KEYS = ("clinical_flair_tagger", "clinical_flair_config")
#: Stands for JSON nested 50,000 deep (written as text: Python's json cannot write it).
DEEP = "__deep_nesting__"


class WriteMarker:
    """Unpickling this writes ``path`` (what an attacker's code would do)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (Path(self.path).write_text, ("executed",))


def pickle_payload(folder: Path, marker: Path) -> Path:
    """A pickle file that writes ``marker`` when loaded (shaped as Flair's Dictionary file)."""
    path = folder / "chars.pkl"
    path.write_bytes(pickle.dumps({"idx2item": [WriteMarker(marker)], "item2idx": {}}))
    return path


def remote_code_folder(folder: Path, marker: Path) -> Path:
    """A transformers model folder whose config asks for its own Python code, which writes ``marker`` on import."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evil_config.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).write_text('executed')\n"
        "from transformers import PretrainedConfig\n"
        "class EvilConfig(PretrainedConfig):\n    model_type = 'evil'\n", encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({
        "model_type": "evil", "auto_map": {"AutoConfig": "evil_config.EvilConfig"}}), encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps({"auto_map": {"AutoConfig": "evil_config.EvilConfig"}}))
    return folder


def split_blob(blob: bytes) -> Tuple[Dict[str, Any], bytes]:
    """A safetensors blob's header (as JSON data) and its tensor bytes."""
    (length,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + length]), blob[8 + length:]


def join_blob(header: Dict[str, Any], body: bytes) -> bytes:
    raw = json.dumps(header).encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw + body


def description_key(header: Dict[str, Any]) -> str:
    return next(key for key in DESCRIPTION_KEYS if key in header["__metadata__"])


def edit_description(blob: bytes, change: Callable[[Any], Any]) -> bytes:
    """The same tensors with the JSON description changed by ``change`` (which may return a new one)."""
    header, body = split_blob(blob)
    key = description_key(header)
    description = json.loads(header["__metadata__"][key])
    result = change(description)
    text = json.dumps(description if result is None else result)
    header["__metadata__"][key] = text.replace(json.dumps(DEEP), "[" * 50_000 + "]" * 50_000)
    return join_blob(header, body)


# ------------------------------------------------------------------------------------- the mutator

def _paths(value: Any, prefix: Tuple = ()) -> List[Tuple]:
    """Every path (tuple of keys/indices) to a value inside ``value``, the root included."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths.extend(_paths(item, prefix + (key,)))
    elif isinstance(value, list):
        for i, item in enumerate(value[:20]):  # dictionaries hold thousands of items: sample the first ones
            paths.extend(_paths(item, prefix + (i,)))
    return paths


def _get(value: Any, path: Tuple) -> Any:
    for key in path:
        value = value[key]
    return value


def attack_values(payload: Path, remote: Path) -> List[Any]:
    """The attack shapes: file names, hub ids, code flags, kwargs, absurd sizes, deep nesting."""
    return [
        str(payload), str(remote), "es-forward", "bert-base-uncased", True, {"trust_remote_code": True},
        {"auto_map": {"AutoConfig": "evil_config.EvilConfig"}}, 2 ** 40, -1, 10 ** 7, 2500, 1e308, float("nan"),
        None, "", "x" * 5000, [], {}, [1, 2, 3], {"__base64__": "UEsDBA=="}, {"__dictionary__": str(payload)},
        {"__dictionary__": {"items": [1, 2]}}, "StackedEmbeddings", "os.system", "\x00", DEEP,
    ]


ATTACK_KEYS = ("trust_remote_code", "transformers_model_kwargs", "transformers_tokenizer_kwargs",
               "transformers_config_kwargs", "peft_config", "path_to_char_dict", "saved_config", "model",
               "feature_extractor_data", "cache_dir", "exec")


def mutate(description: Any, rng: random.Random, payload: Path, remote: Path) -> Any:
    """One to three random edits of a JSON description: replace, delete or add a value, or swap a class."""
    description = copy.deepcopy(description)
    pool = attack_values(payload, remote)

    def pick() -> Any:  # a fresh copy: a value placed twice and then edited must not become circular
        return copy.deepcopy(rng.choice(pool))
    for _ in range(rng.randint(1, 3)):
        paths = _paths(description)
        path = rng.choice(paths)
        target = _get(description, path[:-1]) if path else None
        action = rng.random()
        if not path:
            if action < 0.1:
                return pick()
            continue
        if action < 0.5:
            target[path[-1]] = pick()
        elif action < 0.65 and isinstance(target, dict):
            del target[path[-1]]
        elif action < 0.85:
            holder = _get(description, path)
            if isinstance(holder, dict):
                holder[rng.choice(ATTACK_KEYS)] = pick()
            elif isinstance(holder, list):
                holder.append(pick())
        else:
            holder = _get(description, path)
            if isinstance(holder, dict) and "class" in holder:
                holder["class"] = rng.choice(["StackedEmbeddings", "FlairEmbeddings", "CharacterEmbeddings",
                                              "OneHotEmbeddings", "TransformerWordEmbeddings", "WordEmbeddings"])
            elif _is_number(holder):
                target[path[-1]] = rng.choice([0, 1, 2, holder * 2, holder + 1, -holder, holder * 1000])
    return description


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fuzz(blobs: Dict[str, bytes], cases: int, seed: int, payload: Path, remote: Path,
         weights: Dict[str, float] = None) -> Dict[str, Dict[str, int]]:
    """Load ``cases`` mutated copies of the ``blobs`` (name: safetensors bytes of a tagger or an LM); return
    the outcomes per blob: "loaded", "refused: <error class>", or "other: <exception class>" (a failure)."""
    from spacy_clinical_flair.models.lm_io import LMFileError, lm_from_bytes
    from spacy_clinical_flair.models.tagger_format import TaggerFormatError, tagger_from_bytes

    rng = random.Random(seed)
    names = sorted(blobs)
    chosen = rng.choices(names, weights=[(weights or {}).get(n, 1.0) for n in names], k=cases)
    outcomes: Dict[str, Dict[str, int]] = {name: {} for name in names}
    for name in chosen:
        blob = blobs[name]
        header, _ = split_blob(blob)
        is_lm = "clinical_flair_config" in header["__metadata__"]
        crafted = edit_description(blob, lambda d: mutate(d, rng, payload, remote))
        try:
            (lm_from_bytes if is_lm else tagger_from_bytes)(crafted, what=f"fuzz-{name}.safetensors")
            outcome = "loaded"
        except (TaggerFormatError, LMFileError) as err:
            outcome = f"refused: {type(err).__name__}"
            assert f"fuzz-{name}.safetensors" in str(err), str(err)
        except Exception as err:  # noqa: BLE001 - counted: the test fails on any of these
            outcome = f"other: {type(err).__name__}: {str(err)[:100]}"
        outcomes[name][outcome] = outcomes[name].get(outcome, 0) + 1
    return outcomes
