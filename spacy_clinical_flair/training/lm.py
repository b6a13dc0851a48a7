"""Character language models: training (fine-tuning or from scratch) as a config describes it.

Flair's ``LanguageModelTrainer`` does the training; this module builds or loads the model, enforces a
wall-clock budget and reports the perplexities. The text corpus is :mod:`.lm_corpus`'s, the test-overlap check
:mod:`.contamination`'s, and training both directions side by side :mod:`.lm_pair`'s.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Literal, Optional, Tuple

import srsly

from ..models.tagger_io import HUB_PREFIX, hub_name
from .budget import BudgetExpired, time_budget
from .contamination import MAX_TEST_SHARE, check_test_overlap, drop_duplicate_documents
from .lm_corpus import LMCorpusInfo, LMCorpusSettings, LMCorpusTooSmall, gather_texts, prepare_lm_corpus
from .results import write_result

if TYPE_CHECKING:
    from confection import Config


@dataclass
class LMSettings:
    """Flair LM training settings. The defaults are the paper's (Rojas et al. 2022) where it states them."""

    hidden_size: int = 2048
    nlayers: int = 1
    embedding_size: int = 100
    dropout: float = 0.1
    sequence_length: int = 250
    mini_batch_size: int = 100
    learning_rate: float = 20.0
    anneal_factor: float = 0.25
    patience: int = 10
    max_epochs: int = 1000
    max_minutes: float = 0.0  # 0: no wall-clock limit
    checkpoint: bool = True  # write checkpoint.pt after each split, so training can be resumed
    seed: int = 0  # random initialisation and batch order of a fresh run
    # from scratch: characters seen fewer times in the text map to <unk> (so <unk> is trained for new text)
    min_char_count: int = 1


@dataclass
class LMResult:
    """Where the trained LM is and how good it got."""

    model_path: Path
    best_valid_perplexity: Optional[float]
    test_perplexity: Optional[float]
    epochs_logged: int
    stopped_by_budget: bool
    settings: dict = field(default_factory=dict)


def check_corpus_fits(info: LMCorpusInfo, settings: LMSettings) -> None:
    """Raise :class:`LMCorpusTooSmall` with what to change when the text cannot fill the batches."""
    batch_chars = settings.mini_batch_size * 2
    if info.valid_chars < batch_chars or info.test_chars < batch_chars:
        raise LMCorpusTooSmall(
            f"the validation/test text has {min(info.valid_chars, info.test_chars)} characters; mini_batch_size "
            f"{settings.mini_batch_size} needs at least {batch_chars}: lower lm.mini_batch_size, raise "
            "corpus.valid_fraction/test_fraction, or add text")
    smallest_split = math.ceil(info.train_chars / max(info.splits, 1))
    needed = settings.mini_batch_size * (settings.sequence_length + 1)
    if smallest_split < needed:
        raise LMCorpusTooSmall(
            f"each training split has about {smallest_split} characters; mini_batch_size {settings.mini_batch_size} x "
            f"sequence_length {settings.sequence_length} needs at least {needed}: lower them, raise "
            "corpus.split_chars, or add text")


def load_base_language_model(base: str):
    """A Flair LanguageModel from a local file (``.safetensors`` of this package or Flair's ``.pt``), or by
    Flair name as ``hub:NAME`` (e.g. ``hub:es-forward``) where the hub is reachable."""
    from ..models.lm_io import load_language_model

    path = Path(base).expanduser()
    if path.is_file():
        return load_language_model(path, has_decoder=True)
    name = hub_name(base)
    if name is None:
        raise FileNotFoundError(f"base LM file {base!r} does not exist (for an LM on Flair's hub, write "
                                f"{HUB_PREFIX}NAME, e.g. {HUB_PREFIX}es-forward)")
    from flair.embeddings import FlairEmbeddings

    try:
        return FlairEmbeddings(name, has_decoder=True).lm
    except Exception as err:
        raise ValueError(f"could not get the Flair LM {name!r} from the model hub ({type(err).__name__}: {err}); "
                         "without network access, pass a local .pt file as the base LM or train from scratch") from err


def train_language_model(
    corpus_folder: Path, output: Path, is_forward: bool, settings: Optional[LMSettings] = None,
    base_lm: Optional[str] = None, resume: bool = False,
) -> LMResult:
    """Train (or fine-tune ``base_lm``) a character LM on a prepared corpus; best model in ``output/best-lm.pt``.

    Without ``resume`` an earlier run in ``output`` is cleared first; with it, training continues from
    ``output/checkpoint.pt`` (model, dictionary, epoch and optimizer state; ``base_lm`` and the model-size
    settings are then ignored). ``settings`` default: ``LMSettings()``.
    """
    from flair.trainers.language_model_trainer import LanguageModelTrainer, TextCorpus

    settings = settings or LMSettings()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    checkpoint = output / "checkpoint.pt"
    if resume:
        trainer = _resume_trainer(checkpoint, Path(corpus_folder), is_forward)
    else:
        import flair

        _clear_previous_run(output)
        flair.set_seed(settings.seed)
        model = _new_or_base_model(Path(corpus_folder), is_forward, settings, base_lm)
        trainer = LanguageModelTrainer(model, TextCorpus(corpus_folder, model.dictionary, forward=is_forward,
                                                         character_level=True))
    stopped = False
    try:
        with time_budget(settings.max_minutes):
            trainer.train(output, sequence_length=settings.sequence_length, learning_rate=settings.learning_rate,
                          mini_batch_size=settings.mini_batch_size, anneal_factor=settings.anneal_factor,
                          patience=settings.patience, max_epochs=settings.max_epochs,
                          checkpoint=settings.checkpoint, num_workers=0)
    except BudgetExpired:  # only when the alarm fired outside the trainer's own handler
        stopped = True
    return _lm_result(output, settings, stopped)


#: What a training run leaves in its output folder (the prepared corpus is rewritten separately).
RUN_FILES = ("best-lm.pt", "checkpoint.pt", "loss.txt", "training.log", "lm-result.json")


def _clear_previous_run(output: Path) -> None:
    """A fresh run must not continue or report an earlier one: remove its model, checkpoint and logs."""
    for name in RUN_FILES:
        (output / name).unlink(missing_ok=True)


def _new_or_base_model(corpus_folder: Path, is_forward: bool, settings: LMSettings, base_lm: Optional[str]):
    from ..models.build import build_language_model, character_dictionary

    if not base_lm:
        dictionary = character_dictionary(_corpus_texts(corpus_folder), min_count=settings.min_char_count)
        return build_language_model(dictionary, is_forward, hidden_size=settings.hidden_size,
                                    nlayers=settings.nlayers, embedding_size=settings.embedding_size,
                                    dropout=settings.dropout)
    model = load_base_language_model(base_lm)
    if model.is_forward_lm != is_forward:
        raise ValueError(f"base LM {base_lm!r} is a {'forward' if model.is_forward_lm else 'backward'} model; "
                         f"this run trains a {'forward' if is_forward else 'backward'} one")
    return model


def _resume_trainer(checkpoint: Path, corpus_folder: Path, is_forward: bool):
    """Continue from ``checkpoint.pt``: its model, dictionary, epoch, split and optimizer state."""
    from flair.models import LanguageModel
    from flair.trainers.language_model_trainer import LanguageModelTrainer, TextCorpus

    if not checkpoint.is_file():
        raise FileNotFoundError(f"nothing to resume: {checkpoint} does not exist (run once without --resume)")
    model = LanguageModel.load_checkpoint(checkpoint)["model"]
    if model.is_forward_lm != is_forward:
        raise ValueError(f"{checkpoint} holds a {'forward' if model.is_forward_lm else 'backward'} model")
    corpus = TextCorpus(corpus_folder, model.dictionary, forward=is_forward, character_level=True)
    return LanguageModelTrainer.load_checkpoint(checkpoint, corpus)


def _corpus_texts(folder: Path) -> Iterable[str]:
    for path in sorted((folder / "train").glob("train_split_*")) + [folder / "valid.txt", folder / "test.txt"]:
        yield path.read_text(encoding="utf-8")


_VALID = re.compile(r"valid ppl\s+([0-9.]+)")
_TEST = re.compile(r"TEST: .*valid ppl\s+([0-9.]+)")


def _lm_result(output: Path, settings: LMSettings, stopped: bool) -> LMResult:
    model_path = output / "best-lm.pt"
    if not model_path.is_file():
        raise RuntimeError(f"no model was saved in {output}: training stopped before the first split finished "
                           "(raise lm.max_minutes or lower corpus.split_chars)")
    log = (output / "loss.txt").read_text(encoding="utf-8") if (output / "loss.txt").is_file() else ""
    valid = [float(v) for line in log.splitlines() if not line.startswith("TEST") for v in _VALID.findall(line)]
    test = _TEST.findall(log)
    stopped = stopped or "Exiting from training early" in _read(output / "training.log")
    return LMResult(model_path, min(valid) if valid else None, float(test[-1]) if test else None, len(valid),
                    stopped, asdict(settings))


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


Direction = Literal["forward", "backward"]
DIRECTIONS: Tuple[Direction, Direction] = ("forward", "backward")


def train_lm(config: "Config", output: Path, direction: Direction = "forward", base: Optional[str] = None,
             resume: bool = False, threads: int = 0,
             on_corpus: Optional[Callable[[LMCorpusInfo], None]] = None) -> LMResult:
    """Train one LM as a config describes it (``[corpus]`` text, ``[lm]`` settings); the result is also
    written to ``output/lm-result.json``.

    ``base`` (a file or Flair name; ``None``: the config's ``[lm] base``; ``"null"``: from scratch)
    is fine-tuned instead of starting from scratch. ``on_corpus`` is told what text was gathered.
    """
    from .config import settings_from

    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'forward' or 'backward', not {direction!r}")
    base = config["lm"].get("base") if base is None else base
    base = None if base in (None, "", "null") else str(base)
    if threads:
        import torch

        torch.set_num_threads(threads)
    corpus_cfg = config["corpus"]
    corpus_settings = settings_from(config, "corpus", LMCorpusSettings,
                                    other_keys=("train", "dev", "extra_spacy_files", "text_dirs", "lang",
                                                "check_against", "max_test_share", "drop_overlapping",
                                                "drop_duplicates"))
    lm_settings = settings_from(config, "lm", LMSettings, other_keys=("base",))
    spacy_files = [corpus_cfg.get("train"), corpus_cfg.get("dev"), *corpus_cfg.get("extra_spacy_files", [])]
    texts = gather_texts([Path(p) for p in spacy_files if p], [Path(p) for p in corpus_cfg.get("text_dirs", [])],
                         corpus_cfg.get("lang", "es"))
    output = Path(output)
    if corpus_cfg.get("drop_duplicates", False):
        unique = drop_duplicate_documents(texts)
        duplicates, texts = len(texts) - len(unique), unique
    else:
        duplicates = 0
    gathered = len(texts)
    if corpus_cfg.get("check_against"):
        texts, _ = check_test_overlap(texts, corpus_cfg["check_against"], output / "contamination.json",
                                      corpus_cfg.get("lang", "es"), corpus_cfg.get("max_test_share", MAX_TEST_SHARE),
                                      corpus_cfg.get("drop_overlapping", False))
    info = prepare_lm_corpus(texts, output / "corpus", corpus_settings)
    info.dropped_documents = gathered - len(texts)
    info.duplicate_documents = duplicates
    if on_corpus:
        on_corpus(info)
    check_corpus_fits(info, lm_settings)
    result = train_language_model(output / "corpus", output, direction == "forward", lm_settings, base_lm=base,
                                  resume=resume)
    write_result(output / "lm-result.json", result)
    return result


def read_lm_result(path: Path) -> LMResult:

    data = srsly.read_json(path)
    data["model_path"] = Path(data["model_path"])
    return LMResult(**data)


def lm_result_summary(direction: str, result: LMResult) -> str:
    return (f"{direction} LM: {result.model_path} | best valid perplexity {result.best_valid_perplexity} | "
            f"test perplexity {result.test_perplexity} | splits evaluated {result.epochs_logged}"
            + (" | stopped by the time budget" if result.stopped_by_budget else ""))
