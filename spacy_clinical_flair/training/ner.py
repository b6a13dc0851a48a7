"""Training the BiLSTM-CRF tagger on stacked Flair embeddings, from spaCy ``.spacy`` files.

The Flair sentences are built from the spaCy Docs by :mod:`spacy_clinical_flair.models.flair_data`,
so training sees exactly the tokens the ``clinical_flair_ner`` component sees at inference.
Flair's ``ModelTrainer`` trains (SGD, annealing on plateau, early stopping at the minimum
learning rate) and logs the loss and dev F1 of every epoch.
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Literal, Optional, Sequence, Tuple, get_args

import srsly

from .flair_plugins import TrainingHistory

#: The choices of three NER settings (pydantic checks a config's values against them: ``settings_from``).
StorageMode = Literal["none", "cpu", "gpu"]
TagFormat = Literal["BIOES", "BIO"]
Optimizer = Literal["sgd", "adamw"]


@dataclass
class NERSettings:
    """Tagger training settings; the defaults are the paper's (Table 2 of Rojas et al. 2022)."""

    hidden_size: int = 256
    rnn_layers: int = 1
    use_crf: bool = True
    learning_rate: float = 0.1
    mini_batch_size: int = 32
    max_epochs: int = 150
    word_dropout: float = 0.05
    locked_dropout: float = 0.5
    anneal_factor: float = 0.5
    patience: int = 3
    min_learning_rate: float = 0.0001
    train_with_dev: bool = False
    # an earlier run's ner-result.json: train on train+dev for as many epochs as that run's best dev epoch
    epochs_from: str = ""
    max_minutes: float = 0.0  # 0: no wall-clock limit
    seed: int = 0
    # >= 0: pool the train and dev documents, shuffle them with this seed and cut a new dev set of
    # dev_fraction of them (ensemble members trained on different random splits); -1 keeps the given split
    split_seed: int = -1
    dev_fraction: float = 0.1
    embeddings_storage_mode: StorageMode = "cpu"  # static LM embeddings are computed once and kept: much faster epochs
    precompute_embeddings: bool = True  # embed every sentence once, sorted by length, before the first epoch
    extra_embeddings: List[str] = field(default_factory=list)  # "char", "onehot", "onehot:<vectors folder>"
    onehot_min_freq: int = 2  # "onehot": words seen fewer times in the training data share the <unk> vector
    tag_format: TagFormat = "BIOES"  # or "BIO": half the tags (a cheaper CRF)
    optimizer: Optimizer = "sgd"  # or "adamw"
    reproject_embeddings: bool = True  # a learned square linear map of the embeddings before the BiLSTM


@dataclass(kw_only=True)
class NERResult:
    """Where the trained tagger is and what training reported."""

    model_path: Path
    dev_f1: Optional[float]
    epochs: int
    seconds: float
    labels: List[str]
    train_sentences: int
    dev_sentences: int
    train_entities: int = 0
    entities_left_out: int = 0  # entities crossing a sentence boundary cannot be tagged
    settings: dict = field(default_factory=dict)
    best_epoch: Optional[int] = None  # the epoch with the best dev F1 (None without dev evaluation)


def resplit_documents(train_docs: Sequence, dev_docs: Sequence, seed: int, dev_fraction: float) -> Tuple[list, list]:
    """A new random train/dev split of the documents of both: ``dev_fraction`` of them (at least one) for dev."""
    if not 0 < dev_fraction < 1:
        raise ValueError(f"dev_fraction must be between 0 and 1 (exclusive), got {dev_fraction}")
    documents = [*train_docs, *dev_docs]
    if len(documents) < 2:
        raise ValueError(f"a new train/dev split needs at least 2 documents, got {len(documents)}")
    random.Random(seed).shuffle(documents)
    n_dev = min(len(documents) - 1, max(1, round(len(documents) * dev_fraction)))
    return documents[n_dev:], documents[:n_dev]


def epochs_from_result(path: Path) -> int:
    """The best dev epoch an earlier ``train-tagger`` run recorded in its ``ner-result.json``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run train-tagger with a dev set first (ner.epochs_from)")
    result = srsly.read_json(path)
    if not result.get("best_epoch"):
        raise ValueError(f"{path} records no best dev epoch (that run had no dev evaluation or no finished "
                         "epoch); ner.epochs_from needs a run that evaluated on dev")
    return int(result["best_epoch"])


OPTIMIZERS = get_args(Optimizer)
TAG_FORMATS = get_args(TagFormat)


def extra_embedding(spec: str, train_sentences, onehot_min_freq: int = 2):
    """One extra Flair embedding from its spec: ``char`` (character BiLSTM), ``onehot`` (training-data words),
    ``onehot:<folder>`` (the same words, each row starting as its static vector from a ``spacy init vectors``
    folder, e.g. floret) or ``transformer:<folder>`` (a local transformer's word embeddings, stacked with the
    character LMs)."""
    from flair.embeddings import CharacterEmbeddings

    if spec == "char":
        from ..models.build import character_dictionary

        # a dictionary from the training text: Flair's default ("common-chars") is downloaded from its hub
        texts = (token.text for sentence in train_sentences for token in sentence)
        return CharacterEmbeddings(path_to_char_dict=character_dictionary(texts))
    if spec == "onehot":
        return onehot_embedding(train_sentences, onehot_min_freq)
    if spec.startswith("onehot:"):
        vectors = static_vectors(Path(spec.split(":", 1)[1]))
        embedding = onehot_embedding(train_sentences, onehot_min_freq, embedding_length=vectors.shape[1])
        initialise_from_vectors(embedding, vectors)
        return embedding
    if spec.startswith("transformer:"):
        return transformer_embedding(Path(spec.split(":", 1)[1]))
    raise ValueError(f"unknown extra embedding {spec!r}: use 'char', 'onehot', 'onehot:<spaCy vectors folder>' "
                     "or 'transformer:<local folder>'")


def onehot_embedding(train_sentences, min_freq: int, embedding_length: int = 300):
    """Flair's one-hot word embeddings over the words seen at least ``min_freq`` times in ``train_sentences``."""
    from flair.data import Corpus
    from flair.datasets import FlairDatapointDataset
    from flair.embeddings import OneHotEmbeddings

    from ..models.flair_logging import quiet_flair

    with quiet_flair():  # Flair logs the whole vocabulary
        return OneHotEmbeddings.from_corpus(
            Corpus(train=FlairDatapointDataset(train_sentences), sample_missing_splits=False),
            min_freq=min_freq, embedding_length=embedding_length)


def static_vectors(folder: Path):
    """The static vectors (spaCy ``Vectors``, default or floret mode) of a ``spacy init vectors`` folder."""
    import spacy

    if not (folder / "config.cfg").is_file():
        raise FileNotFoundError(f"{folder} is not a spaCy vectors folder (no config.cfg); make one with "
                                "'python -m spacy init vectors es VECTORS_FILE FOLDER' (for floret vectors "
                                "add --mode floret; benchmarks/floret_vectors.py trains and converts them)")
    vectors = spacy.load(folder).vocab.vectors
    if vectors.shape[0] == 0 or vectors.shape[1] == 0:
        raise ValueError(f"{folder} holds no vectors (shape {vectors.shape})")
    return vectors


def initialise_from_vectors(embedding, vectors) -> None:
    """Start each row of a one-hot ``embedding`` as its word's static vector (words without one, and
    ``<unk>``, keep Flair's random row); the rows are trained with the tagger.

    A floret table has a vector for every word (from its character n-grams); a default table only for
    its keys."""
    import numpy
    import torch

    words = [word for word in embedding.vocab_dictionary.get_items() if word != "<unk>"]
    if vectors.mode != "floret":
        words = [word for word in words if vectors.find(key=word) >= 0]
    if not words:
        return
    rows = torch.as_tensor(numpy.asarray(vectors.get_batch(words), dtype="float32"))
    ids = torch.tensor([embedding.vocab_dictionary.get_idx_for_item(word) for word in words])
    with torch.no_grad():
        embedding.embedding_layer.weight[ids] = rows.to(embedding.embedding_layer.weight.device)


def transformer_embedding(folder: Path):
    """Flair's TransformerWordEmbeddings of a local model folder (frozen; last layer, first sub-token)."""
    from flair.embeddings import TransformerWordEmbeddings

    if not folder.is_dir():
        raise FileNotFoundError(f"transformer folder {folder} does not exist; give a local folder holding a Hugging "
                                "Face model and its tokenizer (save_pretrained), e.g. 'transformer:/models/biobertpt'")
    return TransformerWordEmbeddings(str(folder), layers="-1", subtoken_pooling="first", fine_tune=False,
                                     allow_long_sentences=True)


def train_ner(
    train_docs: Sequence, dev_docs: Sequence, language_models: Sequence[Path], output: Path,
    settings: Optional[NERSettings] = None, started_at: Optional[float] = None,
) -> NERResult:
    """Train a tagger; the chosen model (best on dev, else final) is written to ``output/model.safetensors``.

    ``settings.max_minutes`` counts from ``started_at`` (a ``time.perf_counter()`` value; default: now),
    so a caller that read the documents first can include that time: preparing the data, the
    embeddings and the model all come out of the same budget as the epochs. ``settings`` default: ``NERSettings()``.
    """
    started_at = time.perf_counter() if started_at is None else started_at
    settings = settings or NERSettings()
    import flair
    from flair.data import Corpus
    from flair.datasets import FlairDatapointDataset

    from ..models.build import build_tagger
    from ..models.flair_data import FlairDataReport, docs_to_flair_sentences

    if settings.optimizer not in OPTIMIZERS:
        raise ValueError(f"ner.optimizer must be one of {', '.join(OPTIMIZERS)}, not {settings.optimizer!r}")
    if settings.tag_format not in TAG_FORMATS:
        raise ValueError(f"ner.tag_format must be one of {', '.join(TAG_FORMATS)}, not {settings.tag_format!r}")
    flair.set_seed(settings.seed)
    if settings.split_seed >= 0:
        train_docs, dev_docs = resplit_documents(train_docs, dev_docs, settings.split_seed, settings.dev_fraction)
    max_epochs, with_dev = settings.max_epochs, settings.train_with_dev
    if settings.epochs_from:
        max_epochs, with_dev = epochs_from_result(Path(settings.epochs_from)), True
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    train_report, dev_report = FlairDataReport(), FlairDataReport()
    train = list(docs_to_flair_sentences(train_docs, report=train_report))
    dev = list(docs_to_flair_sentences(dev_docs, report=dev_report))
    if not train:
        raise ValueError("the training data has no sentences")
    corpus = Corpus(train=FlairDatapointDataset(train), dev=FlairDatapointDataset(dev) if dev else None,
                    test=None, sample_missing_splits=False)
    # labels of train *and* dev: a label seen only in dev (MEDDOCAN has one) would otherwise crash Flair's
    # dev evaluation with an unknown tag; the tagger just never learns to predict it
    labels = sorted({span.get_label("ner").value for sentence in (*train, *dev) for span in sentence.get_spans("ner")})
    if not labels:
        raise ValueError("the training data has no entities (doc.ents is empty in every document)")
    lms = [_load_lm(path) for path in language_models]
    extras = [extra_embedding(spec, train, settings.onehot_min_freq) for spec in settings.extra_embeddings]
    if not lms and not extras:
        raise ValueError("no embeddings: give forward/backward LM files and/or extra embeddings")
    tagger = build_tagger(labels, lms, hidden_size=settings.hidden_size, use_crf=settings.use_crf,
                          extra_embeddings=extras, word_dropout=settings.word_dropout,
                          locked_dropout=settings.locked_dropout, rnn_layers=settings.rnn_layers,
                          tag_format=settings.tag_format, reproject_embeddings=settings.reproject_embeddings)
    deadline = started_at + settings.max_minutes * 60 if settings.max_minutes > 0 else None
    start = time.perf_counter()
    if settings.precompute_embeddings and settings.embeddings_storage_mode != "none":
        precompute_static_embeddings(tagger.embeddings, [*train, *dev], settings.mini_batch_size * 4, deadline)
    history = _train_tagger(tagger, corpus, output / "flair", settings, max_epochs, with_dev or not dev, deadline)
    seconds = time.perf_counter() - start
    model_file = save_chosen_model(output)
    best_epoch, best_f1 = _best_dev_epoch(history.dev_scores)
    return NERResult(model_path=model_file, dev_f1=best_f1, epochs=history.epochs, seconds=seconds,
                     labels=list(labels), train_sentences=len(train), dev_sentences=len(dev),
                     train_entities=train_report.entities,
                     entities_left_out=train_report.entities_crossing_sentences
                     + dev_report.entities_crossing_sentences,
                     settings=asdict(settings), best_epoch=best_epoch)


def save_chosen_model(output: Path) -> Path:
    """The model Flair's trainer chose (best on dev, else final) as ``output/model.safetensors``; Flair's own
    ``.pt`` pickles of this run are removed, so nothing in ``output`` needs unpickling later."""
    from flair.models import SequenceTagger

    from ..models.flair_logging import quiet_flair
    from ..models.tagger_format import save_tagger

    pickles = [output / "flair" / name for name in ("best-model.pt", "final-model.pt")]
    chosen = next(path for path in pickles if path.is_file())
    with quiet_flair():
        tagger = SequenceTagger.load(chosen)  # written by this run's trainer a moment ago
    model_file = save_tagger(tagger, output)
    for path in pickles:
        path.unlink(missing_ok=True)
    return model_file


def _train_tagger(tagger, corpus, folder: Path, settings: NERSettings, max_epochs: int, with_dev: bool,
                  deadline: Optional[float]) -> "TrainingHistory":
    """Flair's ModelTrainer with the settings' optimizer, a time budget, a record of the dev scores and
    the faster CRF loss (same value as Flair's: :mod:`.crf_loss`)."""
    import torch
    from flair.trainers import ModelTrainer

    from .crf_loss import fast_crf_loss

    history = TrainingHistory(deadline)
    with fast_crf_loss(tagger):
        ModelTrainer(tagger, corpus).train(
            folder, learning_rate=settings.learning_rate, mini_batch_size=settings.mini_batch_size,
            max_epochs=max_epochs, anneal_factor=settings.anneal_factor, patience=settings.patience,
            min_learning_rate=settings.min_learning_rate, train_with_dev=with_dev,
            embeddings_storage_mode=settings.embeddings_storage_mode,
            save_final_model=True,
            create_file_logs=True, use_final_model_for_eval=False, plugins=[history],
            optimizer=torch.optim.AdamW if settings.optimizer == "adamw" else torch.optim.SGD)
    return history


def precompute_static_embeddings(embeddings, sentences: Sequence, batch_size: int = 128,
                                 deadline: Optional[float] = None) -> None:
    """Embed ``sentences`` once with every static (not fine-tuned) LM or transformer embedding in ``embeddings``.

    Flair's trainer embeds each mini-batch in random order, so every batch pads its characters to its
    longest sentence. Embedding length-sorted batches up front and keeping the vectors on the tokens
    (``embeddings_storage_mode`` ``cpu``) does the same work about 3x faster; the trainer then finds
    the vectors in place and reuses them (trainable embeddings are still computed per batch).
    Each token keeps a copy of its vector, not Flair's view into the whole batch's states.
    Past ``deadline`` (a ``time.perf_counter()`` value) it stops; the trainer embeds the rest as needed.
    """
    import torch
    from flair.embeddings import FlairEmbeddings, TransformerWordEmbeddings

    parts = getattr(embeddings, "embeddings", [embeddings])
    static = [e for e in parts if isinstance(e, (FlairEmbeddings, TransformerWordEmbeddings)) and not e.fine_tune]
    ordered = sorted(sentences, key=lambda sentence: len(sentence.to_original_text()))
    with torch.no_grad():  # not inference_mode: the tagger later backpropagates through layers fed by these
        for embedding in static:
            for i in range(0, len(ordered), batch_size):
                if deadline is not None and time.perf_counter() > deadline:
                    return
                batch = ordered[i:i + batch_size]
                embedding.embed(batch)
                for sentence in batch:
                    for token in sentence:
                        # Flair keeps a view into the LM's [characters x batch x hidden] states per token, which
                        # holds every character's state in memory (6.8 GB on MEDDOCAN); keep a copy instead
                        token.set_embedding(embedding.name, token.get_embedding([embedding.name]).to("cpu", copy=True))


def _load_lm(path: Path):
    from ..models.lm_io import load_language_model

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"language model {path} does not exist; train it with 'train-lm' first")
    return load_language_model(path, has_decoder=False)


def _best_dev_epoch(dev_scores: Sequence[float]) -> Tuple[Optional[int], Optional[float]]:
    """(1-based epoch, score) of the best dev score; the first such epoch on ties. (None, None) without."""
    if not dev_scores:
        return None, None
    best = max(range(len(dev_scores)), key=lambda i: (dev_scores[i], -i))
    return best + 1, float(dev_scores[best])


def train_ner_from_config(config, output: Path, started_at: Optional[float] = None) -> NERResult:
    """Train the tagger a config describes: ``[paths]`` train/dev ``.spacy`` files, ``[data]`` LM files and
    language, ``[ner]`` settings. The result is also written to ``output/ner-result.json``.

    ``started_at`` (``time.perf_counter()``) is where ``ner.max_minutes`` counts from (default: now).
    """
    from ..corpus.docs import read_docbin
    from .config import settings_from
    from .results import write_result

    started_at = time.perf_counter() if started_at is None else started_at
    settings = settings_from(config, "ner", NERSettings)
    lang = config["data"].get("lang", "es")
    dev_path = config["paths"].get("dev")
    language_models = [Path(config["data"][key]) for key in ("lm_forward", "lm_backward") if config["data"].get(key)]
    result = train_ner(list(read_docbin(config["paths"]["train"], lang)),
                       list(read_docbin(dev_path, lang)) if dev_path else [], language_models, output, settings,
                       started_at=started_at)
    write_result(Path(output) / "ner-result.json", result)
    return result


def result_summary(result: NERResult) -> str:
    best = f"best dev F1 {result.dev_f1} (epoch {result.best_epoch})" if result.best_epoch else "no dev evaluation"
    return (f"training data: {result.train_sentences} sentences, {result.train_entities} entities; "
            f"{result.entities_left_out} entities left out (they cross a sentence boundary)\n"
            f"tagger: {result.model_path} | labels {', '.join(result.labels)} | {best} | "
            f"{result.epochs} epochs in {result.seconds:.0f} s")
