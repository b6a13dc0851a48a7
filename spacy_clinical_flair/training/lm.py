"""Character language models: the text corpus and the training (fine-tuning or from scratch).

Flair's ``LanguageModelTrainer`` does the training; this module gathers the text, writes it in
Flair's text-corpus layout (``train/train_split_*``, ``valid.txt``, ``test.txt``), builds or loads
the model, enforces a wall-clock budget, and reports the perplexities.
"""
from __future__ import annotations

import math
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Literal, Optional, Sequence, Tuple

import srsly

from ..models.tagger_io import looks_like_path
from .budget import BudgetExpired, time_budget
from .contamination import (
    MAX_TEST_SHARE,
    MIN_SENTENCE_WORDS,
    SplitOverlap,
    drop_duplicate_documents,
    drop_overlapping,
    overlap_report,
    require_clean,
)
from .results import write_result

if TYPE_CHECKING:
    from confection import Config


@dataclass
class LMCorpusSettings:
    """How the LM text corpus is split."""

    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    split_chars: int = 1_000_000  # characters per training split; validation runs after each split
    seed: int = 0


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
class LMCorpusInfo:
    """What :func:`prepare_lm_corpus` wrote."""

    folder: Path
    documents: int
    train_chars: int
    valid_chars: int
    test_chars: int
    splits: int
    dropped_documents: int = 0  # left out for sharing a sentence with a test split ([corpus] drop_overlapping)
    duplicate_documents: int = 0  # left out as near-repeats of another document ([corpus] drop_duplicates)


@dataclass
class LMResult:
    """Where the trained LM is and how good it got."""

    model_path: Path
    best_valid_perplexity: Optional[float]
    test_perplexity: Optional[float]
    epochs_logged: int
    stopped_by_budget: bool
    settings: dict = field(default_factory=dict)


class LMCorpusTooSmall(ValueError):
    """The text cannot fill the batches the settings ask for."""


def gather_texts(spacy_files: Sequence[Path] = (), text_dirs: Sequence[Path] = (), lang: str = "es") -> List[str]:
    """Document texts from ``.spacy`` files and every ``.txt`` file under the text folders."""
    from ..corpus.docs import read_docbin

    texts: List[str] = []
    for path in spacy_files:
        texts.extend(doc.text for doc in read_docbin(path, lang))
    for folder in text_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"LM text folder {folder} does not exist")
        texts.extend(p.read_bytes().decode("utf-8", errors="replace") for p in sorted(folder.rglob("*.txt")))
    return [text.replace("\ufeff", "") for text in texts if text.strip()]


def prepare_lm_corpus(texts: Sequence[str], folder: Path, settings: LMCorpusSettings = LMCorpusSettings()) -> LMCorpusInfo:
    """Write Flair's text-corpus layout; documents are shuffled, then split into train/valid/test."""
    if len(texts) < 3:
        raise LMCorpusTooSmall(f"{len(texts)} documents of text: at least 3 are needed (train, valid, test)")
    documents = [_normalise(text) for text in texts]
    random.Random(settings.seed).shuffle(documents)
    n_valid = max(1, round(len(documents) * settings.valid_fraction))
    n_test = max(1, round(len(documents) * settings.test_fraction))
    valid, test, train = documents[:n_valid], documents[n_valid:n_valid + n_test], documents[n_valid + n_test:]
    folder = Path(folder)
    (folder / "train").mkdir(parents=True, exist_ok=True)
    for old in (folder / "train").glob("train_split_*"):
        old.unlink()
    splits = _write_splits(train, folder / "train", settings.split_chars)
    (folder / "valid.txt").write_text("\n".join(valid) + "\n", encoding="utf-8")
    (folder / "test.txt").write_text("\n".join(test) + "\n", encoding="utf-8")
    return LMCorpusInfo(folder, len(documents), sum(map(len, train)) + len(train), sum(map(len, valid)) + len(valid),
                        sum(map(len, test)) + len(test), splits)


def _normalise(text: str) -> str:
    """One document per line: Flair's text corpus uses the newline as the document delimiter."""
    return re.sub(r"\s*\n\s*", " ", text.replace("\r", "")).strip()


def _write_splits(documents: Sequence[str], folder: Path, split_chars: int) -> int:
    splits, current, size = 0, [], 0
    for document in documents:
        current.append(document)
        size += len(document) + 1
        if size >= split_chars:
            splits += 1
            (folder / f"train_split_{splits}").write_text("\n".join(current) + "\n", encoding="utf-8")
            current, size = [], 0
    if current:
        splits += 1
        (folder / f"train_split_{splits}").write_text("\n".join(current) + "\n", encoding="utf-8")
    return splits


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
    Flair name (e.g. ``es-forward``) where the hub is reachable."""
    from ..models.lm_io import load_language_model

    path = Path(base).expanduser()
    if path.is_file():
        return load_language_model(path, has_decoder=True)
    if looks_like_path(base):
        raise FileNotFoundError(f"base LM file {base!r} does not exist")
    from flair.embeddings import FlairEmbeddings

    try:
        return FlairEmbeddings(base, has_decoder=True).lm
    except Exception as err:
        raise ValueError(f"could not get the Flair LM {base!r} from the model hub ({type(err).__name__}: {err}); "
                         "without network access, pass a local .pt file as the base LM or train from scratch") from err


def train_language_model(
    corpus_folder: Path, output: Path, is_forward: bool, settings: LMSettings = LMSettings(),
    base_lm: Optional[str] = None, resume: bool = False,
) -> LMResult:
    """Train (or fine-tune ``base_lm``) a character LM on a prepared corpus; best model in ``output/best-lm.pt``.

    Without ``resume`` an earlier run in ``output`` is cleared first; with it, training continues from
    ``output/checkpoint.pt`` (model, dictionary, epoch and optimizer state; ``base_lm`` and the model-size
    settings are then ignored).
    """
    from flair.trainers.language_model_trainer import LanguageModelTrainer, TextCorpus

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


def check_test_overlap(texts: Sequence[str], eval_paths: Sequence[str], report_path: Optional[Path] = None,
                       lang: str = "es", max_share: float = MAX_TEST_SHARE,
                       drop: bool = False) -> Tuple[List[str], List[SplitOverlap]]:
    """Refuse LM text that holds more than ``max_share`` of the sentences of any evaluation split
    (:class:`~.contamination.ContaminatedText`). Each split is a ``.spacy`` file or a folder of ``.txt``
    files. With ``drop``, LM documents that share a sentence with a split are removed first. Returns the
    (remaining) texts and each split's overlap, also written to ``report_path`` as JSON."""
    splits: Dict[str, List[str]] = {}
    for path in map(Path, eval_paths):
        if not (path.is_dir() or (path.is_file() and path.suffix == ".spacy")):
            raise FileNotFoundError(f"evaluation split {path} is neither a folder of .txt files nor a .spacy file")
        splits[str(path)] = gather_texts([path] if path.is_file() else (), [path] if path.is_dir() else (), lang)
    kept = drop_overlapping(texts, [t for split in splits.values() for t in split]) if drop else list(texts)
    reports = overlap_report(kept, splits)
    if report_path is not None and reports:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(report_path, {"max_test_share": max_share, "min_words": MIN_SENTENCE_WORDS,
                                       "documents": len(texts), "dropped_documents": len(texts) - len(kept),
                                       "splits": [{**asdict(r), "share": r.share} for r in reports]})
    require_clean(reports, max_share)
    return kept, reports


class LMTrainingFailed(RuntimeError):
    """One of the two LM trainings of :func:`train_lm_pair` failed; ``logs`` has its log file."""

    def __init__(self, directions: Sequence[str], logs: Dict[str, Path]) -> None:
        tails = []
        for direction in directions:
            lines = logs[direction].read_text(encoding="utf-8", errors="replace").splitlines()
            tails.append(f"--- {direction} ({logs[direction]}):\n" + "\n".join(lines[-5:]))
        super().__init__(f"the {' and '.join(directions)} LM training failed\n" + "\n".join(tails))
        self.logs = logs


def train_lm_pair(config: "Config", output: Path, bases: Optional[Dict[str, Optional[str]]] = None,
                  resume: bool = False, threads: int = 0,
                  on_progress: Optional[Callable[[str, str], None]] = None,
                  every_seconds: float = 30.0) -> Dict[str, LMResult]:
    """Train the forward and the backward LM side by side, one process each, into ``output/forward`` and
    ``output/backward`` (on 2 cores about 1.3x the characters per second of one after the other).

    Each process gets ``threads`` torch threads (default: half the cores) and logs to
    ``output/train-lm-DIRECTION.log``; ``on_progress(direction, line)`` gets each new end-of-split line.
    Interrupting the caller stops both processes. A failed process raises :class:`LMTrainingFailed`.
    """
    import multiprocessing
    import os

    bases = bases or {}
    threads = threads or max(1, (os.cpu_count() or 2) // 2)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited torch threads or locks
    logs: Dict[str, Path] = {direction: output / f"train-lm-{direction}.log" for direction in DIRECTIONS}
    processes: Dict[str, Any] = {direction: context.Process(
        target=_train_direction_process, name=f"train-lm-{direction}",
        args=(config.to_str(), str(output / direction), direction, bases.get(direction), resume, threads,
              str(logs[direction]))) for direction in DIRECTIONS}
    for process in processes.values():
        process.start()
    try:
        _follow(processes, output, on_progress, every_seconds)
    finally:  # Ctrl-C (or any error) here must not leave the two trainings running
        for process in processes.values():
            if process.is_alive():
                process.terminate()
            process.join()
    failed = [direction for direction, process in processes.items() if process.exitcode != 0]
    if failed:
        raise LMTrainingFailed(failed, logs)
    return {direction: read_lm_result(output / direction / "lm-result.json") for direction in DIRECTIONS}


def _train_direction_process(config_text: str, output: str, direction: Direction, base: Optional[str],
                             resume: bool, threads: int, log: str) -> None:
    """Child process of :func:`train_lm_pair`: everything it prints goes to ``log``."""
    import os
    import sys

    from confection import Config

    handle = open(log, "w", encoding="utf-8")
    os.dup2(handle.fileno(), 1)
    os.dup2(handle.fileno(), 2)
    sys.stdout = sys.stderr = handle
    try:
        result = train_lm(Config().from_str(config_text), Path(output), direction, base, resume, threads,
                          on_corpus=lambda info: print(corpus_summary(info), flush=True))
        print(result_summary(direction, result), flush=True)
    except BaseException as err:  # the parent reads the reason from the log
        print(f"error: {type(err).__name__}: {err}", flush=True)
        handle.flush()
        os._exit(1)
    handle.flush()


def _follow(processes: Dict[str, Any], output: Path, on_progress, every_seconds: float) -> None:
    """Until both processes end, report each one's newest end-of-split line as it appears."""
    import time

    shown = {direction: "" for direction in processes}
    last = time.monotonic()
    while any(process.is_alive() for process in processes.values()):
        time.sleep(0.5)
        if on_progress is None or time.monotonic() - last < every_seconds:
            continue
        last = time.monotonic()
        for direction in processes:
            loss = output / direction / "loss.txt"
            lines = [line for line in _read(loss).splitlines() if "end of split" in line]
            if lines and lines[-1] != shown[direction]:
                shown[direction] = lines[-1]
                on_progress(direction, lines[-1][lines[-1].index("end of split"):].strip())


def read_lm_result(path: Path) -> LMResult:

    data = srsly.read_json(path)
    data["model_path"] = Path(data["model_path"])
    return LMResult(**data)


def corpus_summary(info: LMCorpusInfo) -> str:
    dropped = (f" ({info.dropped_documents} more left out: they share a sentence with a test split)"
               if info.dropped_documents else "")
    if info.duplicate_documents:
        dropped += f" ({info.duplicate_documents} near-repeats of other documents left out)"
    return (f"LM corpus: {info.documents} documents{dropped}, {info.train_chars} training characters in "
            f"{info.splits} split(s), {info.valid_chars} valid, {info.test_chars} test")


def result_summary(direction: str, result: LMResult) -> str:
    return (f"{direction} LM: {result.model_path} | best valid perplexity {result.best_valid_perplexity} | "
            f"test perplexity {result.test_perplexity} | splits evaluated {result.epochs_logged}"
            + (" | stopped by the time budget" if result.stopped_by_budget else ""))
