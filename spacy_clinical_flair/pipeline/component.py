"""The ``clinical_flair_ner`` pipeline component: a Flair SequenceTagger writing ``doc.ents``.

* Flair sees spaCy's tokens one for one (whitespace-only tokens skipped), sentence by sentence
  (``doc.sents`` when set, else the rule-based splitter, without writing it to the Doc), so every
  entity's character offsets are exactly those of spaCy tokens.
* ``pipe()`` gathers the sentences of many documents and lets Flair predict them in
  length-sorted mini-batches, under ``torch.inference_mode`` with no embeddings kept. Flair's
  sentence context is set per document, so nothing leaks from one document into the next.
* The tagger is loaded by ``initialize()`` (from config ``model``) or ``from_disk()`` (from the
  pipeline folder), never by the constructor; it is saved inside the pipeline by ``to_disk()``.
* ``model`` may name several taggers (an ensemble): each predicts every sentence and an entity is
  kept when ``min_votes`` of them (default: a strict majority) predicted exactly it
  (:mod:`spacy_clinical_flair.pipeline.ensemble`).
* Taggers made of Flair character LMs (what ``train-tagger`` makes) predict through
  :class:`spacy_clinical_flair.pipeline.fast_tagger.FastTagger`: Flair's computation without Flair's per-token
  objects, sentences batched by characters, and ``precision`` "bf16" for the LMs where the hardware has
  it (a warning and float32 where it has not). Other taggers use Flair's ``predict``.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Literal,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import srsly
from spacy import util
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.pipeline.span_ruler import prioritize_existing_ents_filter
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import minibatch

from ..ml.device import resolve_device
from ..ml.precision import Engine, EnginePrecision, check_engine, effective_precision
from ..models.flair_data import doc_sentences, predict_entities, prediction_units, predictions_by_doc
from ..models.tagger_format import MEMBER_FILE, TAGGER_FILE, member_file_names, tagger_from_bytes, tagger_to_bytes
from ..models.tagger_io import entity_labels, load_tagger
from .ensemble import Prediction, majority, vote
from .fast_tagger import FastTagger, fast_path_problem

if TYPE_CHECKING:
    from flair.models import SequenceTagger

    from ..ml.onnx_tagger import TaggerGraphs

EntsPolicy = Literal["keep", "replace"]
#: Doc extension holding ``{"start:end:label": score}`` for every prediction of the component.
SCORES_EXTENSION = "clinical_flair_scores"
#: Span extension giving the component's confidence for a span it predicted (None otherwise).
SCORE_EXTENSION = "clinical_flair_score"
CFG_FILE = "cfg"

#: A model source in the config: one path (or hub name), or a list of them for an ensemble. (Spelt out in
#: the signatures spaCy validates, since pydantic cannot resolve this alias there.)
ModelSource = Union[str, List[str], None]
#: The component's settings and their defaults, defined once: the class's keyword defaults and the factory's
#: ``default_config`` (registrations.py, which adds the scorer) both read them.
NER_DEFAULTS: Dict[str, Any] = {
    "model": None, "batch_size": 32, "doc_batch_size": 128, "device": "auto", "ents_policy": "keep",
    "spans_key": None, "max_sentence_tokens": 250, "torch_threads": 0, "min_votes": 0, "precision": "fp32",
    "engine": "torch",
}
#: In a component folder saved with engine "onnx": a tagger file's ONNX graphs, by the tagger file's stem
#: ("model", "model-0", ...): its LMs ``{stem}.lm-0.onnx``, ``{stem}.lm-1.onnx``, ... and ``{stem}.network.onnx``.
ONNX_LM_FILE = "{stem}.lm-{index}.onnx"
ONNX_NETWORK_FILE = "{stem}.network.onnx"


def span_score(span: Span) -> Optional[float]:
    scores = span.doc._.get(SCORES_EXTENSION) or {}
    return scores.get(f"{span.start_char}:{span.end_char}:{span.label_}")




class ClinicalFlairNER(Pipe):
    """Named-entity recognition with a Flair SequenceTagger, as a spaCy pipeline component."""

    def __init__(
        self, vocab, name: str = "clinical_flair_ner", *, model: ModelSource = NER_DEFAULTS["model"],
        batch_size: int = NER_DEFAULTS["batch_size"], doc_batch_size: int = NER_DEFAULTS["doc_batch_size"],
        device: str = NER_DEFAULTS["device"], ents_policy: EntsPolicy = NER_DEFAULTS["ents_policy"],
        spans_key: Optional[str] = NER_DEFAULTS["spans_key"], max_sentence_tokens: int = NER_DEFAULTS["max_sentence_tokens"],
        torch_threads: int = NER_DEFAULTS["torch_threads"], min_votes: int = NER_DEFAULTS["min_votes"],
        precision: EnginePrecision = NER_DEFAULTS["precision"], engine: Engine = NER_DEFAULTS["engine"],
        scorer: Optional[Callable] = None,
    ) -> None:
        for key, value in (("batch_size", batch_size), ("doc_batch_size", doc_batch_size),
                           ("max_sentence_tokens", max_sentence_tokens)):
            if value < 1:
                raise ValueError(f"{key} must be at least 1, got {value}")
        if min_votes < 0:
            raise ValueError(f"min_votes must be 0 (a strict majority) or a number of models, got {min_votes}")
        check_engine(engine, precision)
        self.vocab = vocab
        self.name = name
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {
            "model": model, "batch_size": batch_size, "doc_batch_size": doc_batch_size, "device": device,
            "ents_policy": ents_policy, "spans_key": spans_key, "max_sentence_tokens": max_sentence_tokens,
            "torch_threads": torch_threads, "min_votes": min_votes, "precision": precision, "engine": engine,
            "labels": [],
        }
        self.taggers: List["SequenceTagger"] = []
        #: per tagger, its FastTagger (None: Flair's own predict)
        self.fast_taggers: List[Optional[FastTagger]] = []
        #: ONNX graphs read with the taggers (a folder saved with engine "onnx"), per tagger; None: made from weights
        self.stored_graphs: List[Optional["TaggerGraphs"]] = []
        self._device = None

    # ------------------------------------------------------------------ the model

    @property
    def labels(self) -> Tuple[str, ...]:
        """Entity types the tagger predicts, without BIOES prefixes."""
        return tuple(self.cfg["labels"])

    @property
    def engine(self) -> str:
        """What runs the LMs and the tagger's network: "torch", or "onnx" (ONNX Runtime on the CPU)."""
        return self.cfg["engine"]

    @property
    def tagger(self) -> Optional["SequenceTagger"]:
        """The tagger (the first one of an ensemble); None before loading."""
        return self.taggers[0] if self.taggers else None

    @property
    def is_loaded(self) -> bool:
        return bool(self.taggers)

    def initialize(self, get_examples: Optional[Callable] = None, *, nlp: Optional[Language] = None,
                   model: Union[str, List[str], None] = None) -> None:
        """Load the tagger(s) from ``model`` (or the config's ``model``): a ``train-tagger`` output folder or
        ``.safetensors`` file, a Flair ``.pt`` file (a pickle: only files you trust) or hub name, or a list.

        A component that already holds a tagger (e.g. loaded from disk) keeps it when no model is named.
        """
        if model is None and self.taggers:
            return
        sources = model_sources(model if model is not None else self.cfg["model"])
        if not sources:
            raise ValueError(f"'{self.name}' has no tagger: set config 'model' to a tagger trained with "
                             "train-tagger (its output folder; or a list of them for an ensemble), or pass "
                             "initialize(model=...)")
        self.set_taggers([load_tagger(source) for source in sources])
        self.cfg["model"] = sources[0] if len(sources) == 1 else sources

    def set_tagger(self, tagger: "SequenceTagger") -> None:
        """Use ``tagger`` (already loaded) for prediction; moves it to the configured device."""
        self.set_taggers([tagger])

    def set_taggers(self, taggers: Sequence["SequenceTagger"],
                    graphs: Optional[Sequence[Optional["TaggerGraphs"]]] = None) -> None:
        """Use ``taggers`` (already loaded; several make an ensemble) for prediction, on the configured device;
        ``graphs``: their saved ONNX graphs, for engine "onnx" (else made from the weights when needed)."""
        import torch

        if not taggers:
            raise ValueError("set_taggers needs at least one tagger")
        min_votes = self.cfg["min_votes"]
        if min_votes > len(taggers):
            raise ValueError(f"min_votes is {min_votes} but there are only {len(taggers)} tagger(s); "
                             "lower min_votes (0 means a strict majority)")
        if len({tagger.tag_type for tagger in taggers}) > 1:
            raise ValueError("the ensemble's taggers predict different tag types: "
                             f"{sorted({tagger.tag_type for tagger in taggers})}")
        if self.cfg["torch_threads"]:
            torch.set_num_threads(self.cfg["torch_threads"])
        self._device = resolve_device(self.cfg["device"])
        for tagger in taggers:
            tagger.eval()
        self.taggers = [tagger.to(self._device) for tagger in taggers]
        self.stored_graphs = list(graphs) if graphs else [None] * len(taggers)
        self.fast_taggers = [self._fast_tagger(index) for index in range(len(self.taggers))]
        self.cfg["labels"] = sorted({label for tagger in taggers for label in entity_labels(tagger)})
        self._loaded_pid = os.getpid()

    def _fast_tagger(self, index: int) -> Optional[FastTagger]:
        """The FastTagger for tagger ``index`` at the configured engine and precision, or None (with a warning where
        they cannot be had)."""
        tagger, precision = self.taggers[index], self.cfg["precision"]
        problem = fast_path_problem(tagger)
        if problem:
            if precision != "fp32" or self.engine != "torch":
                warnings.warn(f"'{self.name}': precision {precision!r} and engine {self.engine!r} apply to taggers made "
                              f"of Flair character LMs, but {problem}; predicting in fp32 with Flair's predict",
                              stacklevel=3)
            return None
        if self.engine == "onnx":
            graphs = self.stored_graphs[index]
            source = f" ({graphs.source})" if graphs and graphs.source else ""
            return FastTagger(tagger, precision, "onnx", graphs, f"'{self.name}' tagger {index}{source}")
        return FastTagger(tagger, effective_precision(precision, self._device, f"'{self.name}'"))

    def set_precision(self, precision: str) -> None:
        """Predict at ``precision`` from now on ("fp32" or "bf16"; see :mod:`spacy_clinical_flair.ml.precision`)."""
        check_engine(self.engine, precision)
        self.cfg["precision"] = precision
        self._rebuild_fast_taggers()

    def set_engine(self, engine: str, precision: Optional[str] = None) -> None:
        """Predict with ``engine`` ("torch", or "onnx": the LMs and the tagger's network run by ONNX Runtime on
        the CPU, decoding unchanged) at ``precision`` (default: as set; "int8" with onnx) from now on."""
        precision = precision or self.cfg["precision"]
        self.cfg["engine"] = check_engine(engine, precision)
        self.cfg["precision"] = precision
        self._rebuild_fast_taggers()

    def _rebuild_fast_taggers(self) -> None:
        """After a change of engine or precision: graphs made anew from the weights (saved ones are let go)."""
        self.stored_graphs = [None] * len(self.taggers)
        self.fast_taggers = [self._fast_tagger(index) for index in range(len(self.taggers))]

    def _require_taggers(self) -> List["SequenceTagger"]:
        if not self.taggers:
            if not model_sources(self.cfg["model"]):
                raise ValueError(f"'{self.name}' has no tagger yet: call nlp.initialize() with config 'model' set to "
                                 "a tagger trained with train-tagger (its output folder), or load a saved pipeline")
            self.initialize()
        if self._pid_changed():
            self._adopt_new_process()
        return self.taggers

    # ------------------------------------------------------------------ prediction

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: Optional[int] = None) -> Iterator[Doc]:
        """Predict documents in groups, pooling their sentences into one Flair call per group.

        A group holds at most ``doc_batch_size`` documents, or ``batch_size`` when smaller (``nlp.pipe``
        always passes its own, 1000 by default, so the config key is a cap on memory per round). A group that
        fails goes to the pipeline's error handler (``nlp.set_error_handler``; by default it raises).
        """
        cap = self.cfg["doc_batch_size"]
        error_handler = self.get_error_handler()  # as spaCy's own pipes: nlp.set_error_handler() decides
        for docs in minibatch(stream, size=min(batch_size, cap) if batch_size else cap):
            try:
                self.set_annotations(docs, self.predict(docs))
                yield from docs
            except Exception as err:
                error_handler(self.name, self, docs, err)

    def predict(self, docs: Sequence[Doc]) -> List[List[Prediction]]:
        """Entities for each Doc as ``(start_token, end_token, label, score)``, in token order."""
        import flair

        taggers = self._require_taggers()
        flair.device = self._device  # type: ignore[assignment]  # set with the taggers; Flair moves its batches there
        located = doc_sentences(docs, self.cfg["max_sentence_tokens"])
        sentences = [tokens for _, tokens in located]
        flair_units = None
        members = []
        for index, (tagger, fast) in enumerate(zip(taggers, self.fast_taggers)):
            if fast is not None:
                members.append(predictions_by_doc(located, fast.predict(sentences, self.cfg["batch_size"]), len(docs)))
                continue
            if flair_units is None:
                flair_units = prediction_units(located)
            # each member writes its own label layer
            members.append(predict_entities(tagger, flair_units, len(docs), self.cfg["batch_size"],
                                            f"{tagger.tag_type}-{index}"))
        if len(members) == 1:
            return members[0]
        min_votes = self.cfg["min_votes"] or majority(len(members))
        return [vote([member[i] for member in members], min_votes) for i in range(len(docs))]

    def set_annotations(self, docs: Sequence[Doc], predictions: Sequence[List[Prediction]]) -> None:
        """Write ``doc.ents`` by the ents policy, the scores, and the span group if configured."""
        for doc, doc_predictions in zip(docs, predictions):
            spans = [Span(doc, start, end, label=label) for start, end, label, _ in doc_predictions]
            scores = [score for _, _, _, score in doc_predictions]
            if self.cfg["ents_policy"] == "replace":
                doc.ents = spans
            else:
                doc.ents = prioritize_existing_ents_filter(doc.ents, spans)
            doc._.set(SCORES_EXTENSION, {
                f"{span.start_char}:{span.end_char}:{span.label_}": score for span, score in zip(spans, scores)})
            if self.cfg["spans_key"]:
                doc.spans[self.cfg["spans_key"]] = SpanGroup(
                    doc, name=self.cfg["spans_key"], spans=spans, attrs={"scores": scores})

    # ------------------------------------------------------------------ processes

    _loaded_pid: Optional[int] = None

    def _pid_changed(self) -> bool:
        return self._loaded_pid is not None and self._loaded_pid != os.getpid()

    def _adopt_new_process(self) -> None:
        """In a worker of ``nlp.pipe(n_process=...)``: one torch thread per process, no oversubscription."""
        import torch

        torch.set_num_threads(self.cfg["torch_threads"] or 1)
        self._loaded_pid = os.getpid()

    # ------------------------------------------------------------------ serialisation

    def to_disk(self, path, *, exclude: Iterable[str] = tuple()) -> None:
        """Write ``cfg`` and the weights into the component's folder as safetensors + JSON (no pickle):
        ``model.safetensors``, or ``model-0.safetensors``, ``model-1.safetensors``, ... for an ensemble."""
        path = Path(path)
        taggers = self._require_taggers() if "model" not in exclude else []
        path.mkdir(parents=True, exist_ok=True)
        serializers: Dict[str, Callable] = {CFG_FILE: lambda p: srsly.write_json(p, self.cfg)}
        if taggers:
            for old in [path / TAGGER_FILE, *path.glob(MEMBER_FILE.format("*")), *path.glob("*.onnx")]:
                old.unlink(missing_ok=True)  # a smaller ensemble must not inherit members of an earlier save
            for name, tagger in zip(member_file_names(len(taggers)), taggers):
                serializers[name] = lambda p, tagger=tagger: p.write_bytes(tagger_to_bytes(tagger))
            for name, fast in zip(member_file_names(len(taggers)), self.fast_taggers):
                graphs = fast.graphs() if fast is not None else None
                if graphs is not None:
                    serializers.update(onnx_serializers(Path(name).stem, graphs))
        util.to_disk(path, serializers, [name for name in exclude if name != "model"])

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()) -> "ClinicalFlairNER":
        """Restore the tagger(s) saved by :meth:`to_disk` (the original ``model`` paths are not needed).

        Only the safetensors files are read; nothing in the folder is unpickled. Runtime settings (device,
        batch sizes, policy) come from the pipeline's ``config.cfg``, which may be overridden at load time;
        the folder's ``cfg`` is a record of the saved state, not re-applied.
        """
        path = Path(path)
        if "model" in exclude:
            return self
        files = saved_member_files(path)
        if not files:
            legacy = " It holds a model.pt (a pickle from an older version): convert it with `python -m " \
                     "spacy_clinical_flair import-flair` and save the pipeline again." if (path / "model.pt").exists() else ""
            raise FileNotFoundError(f"{path / TAGGER_FILE} is missing: the pipeline folder has no tagger for "
                                    f"'{self.name}'. Save it again with nlp.to_disk() after the component was "
                                    f"initialised.{legacy}")
        graphs = [read_onnx_graphs(path, file.stem) if self.engine == "onnx" else None for file in files]
        self.set_taggers([tagger_from_bytes(file.read_bytes(), str(file)) for file in files], graphs)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        serializers: Dict[str, Callable] = {"cfg": lambda: self.cfg}
        if "model" not in exclude:
            serializers["models"] = lambda: [tagger_to_bytes(tagger) for tagger in self._require_taggers()]
        return util.to_bytes(serializers, exclude)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "ClinicalFlairNER":
        """Restore the tagger(s) of :meth:`to_bytes` (as with from_disk, the config is not re-applied)."""
        data = srsly.msgpack_loads(bytes_data)
        if "model" not in exclude:
            self.set_taggers([tagger_from_bytes(blob, f"{self.name} tagger {index}")
                              for index, blob in enumerate(data["models"])])
        return self


def saved_member_files(folder: Path) -> List[Path]:
    """The tagger files in a component folder, in member order (empty when there are none)."""
    if (folder / TAGGER_FILE).is_file():
        return [folder / TAGGER_FILE]
    members: List[Path] = []
    while (folder / MEMBER_FILE.format(len(members))).is_file():
        members.append(folder / MEMBER_FILE.format(len(members)))
    return members


def onnx_serializers(stem: str, graphs: "TaggerGraphs") -> Dict[str, Callable]:
    """``util.to_disk`` writers of one tagger's ONNX graphs, by file name."""
    files = {ONNX_LM_FILE.format(stem=stem, index=i): data for i, data in enumerate(graphs.lms)}
    files[ONNX_NETWORK_FILE.format(stem=stem)] = graphs.network
    return {name: (lambda p, data=data: p.write_bytes(data)) for name, data in files.items()}


def read_onnx_graphs(folder: Path, stem: str) -> Optional["TaggerGraphs"]:
    """The ONNX graphs saved beside tagger file ``stem`` (None when there are none: they are then made from the
    weights); each file's size is checked before it is read, its content when it is used."""
    from ..ml.onnx_lm import MAX_GRAPH_BYTES, OnnxModelError
    from ..ml.onnx_tagger import TaggerGraphs

    network = folder / ONNX_NETWORK_FILE.format(stem=stem)
    lms: List[Path] = []
    while (folder / ONNX_LM_FILE.format(stem=stem, index=len(lms))).is_file():
        lms.append(folder / ONNX_LM_FILE.format(stem=stem, index=len(lms)))
    if not network.is_file():
        if lms:
            raise OnnxModelError(f"{folder} has ONNX LM graphs for {stem} but no {network.name}: export the "
                                 "pipeline again (export-onnx)")
        return None
    for file in [*lms, network]:
        if file.is_symlink() or file.stat().st_size > MAX_GRAPH_BYTES:
            raise OnnxModelError(f"{file} is a link or larger than {MAX_GRAPH_BYTES} bytes: not a graph this "
                                 "package saves")
    return TaggerGraphs([file.read_bytes() for file in lms], network.read_bytes(), str(folder / f"{stem}.*.onnx"))


def model_sources(model: ModelSource) -> List[str]:
    """The config's ``model`` as a list of sources (empty when unset)."""
    if model is None:
        return []
    if isinstance(model, str):
        return [model] if model else []
    return [str(source) for source in model]


def make_clinical_flair_ner(
    nlp: Language, name: str, model: Union[str, List[str], None], batch_size: int, doc_batch_size: int, device: str,
    ents_policy: EntsPolicy, spans_key: Optional[str], max_sentence_tokens: int, torch_threads: int, min_votes: int,
    precision: EnginePrecision, engine: Engine, scorer: Optional[Callable],
) -> ClinicalFlairNER:
    """spaCy factory for :class:`ClinicalFlairNER`. Cheap: nothing is loaded until initialize()/from_disk()."""
    return ClinicalFlairNER(nlp.vocab, name, model=model, batch_size=batch_size, doc_batch_size=doc_batch_size,
                            device=device, ents_policy=ents_policy, spans_key=spans_key,
                            max_sentence_tokens=max_sentence_tokens, torch_threads=torch_threads,
                            min_votes=min_votes, precision=precision, engine=engine, scorer=scorer)
