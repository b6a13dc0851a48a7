"""Flair LM vectors as a spaCy layer: equality with Flair, frozen LMs, caching, training, saving, errors."""
import os
import pickle
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from flair.data import Sentence, Token
from flair.embeddings import FlairEmbeddings
from spacy.tokens import DocBin
from thinc.api import Adam

from spacy_clinical_flair.ml.flair_tok2vec import FlairEmbed, FlairLMShim, FlairVectors, flair_shims
from spacy_clinical_flair.ml.lm_vectors import VectorSettings, doc_vectors
from spacy_clinical_flair.models.build import build_language_model, character_dictionary
from spacy_clinical_flair.models.lm_io import save_language_model
from spacy_clinical_flair.text.sentences import ClinicalSentencizer
from spacy_clinical_flair.text.tokenizer import blank_pipeline

from ..conftest import REPO, SAMPLE, sample_texts

TEXTS = [
    "Paciente  de 62 años.\nSexo: H.\n\n  Edad:62, con dolor   torácico.",  # double/triple spaces, line breaks
    "Hola.",
    "Dolor abdominal persistente. " * 40 + "Fin",  # 1,160 characters: more than one 512-character LM chunk
    "  \n ",  # whitespace only
]


@pytest.fixture(scope="module")
def tiny_lms():
    torch.manual_seed(0)
    dictionary = character_dictionary(TEXTS)
    lms = [build_language_model(dictionary, forward, hidden_size=12, embedding_size=6) for forward in (True, False)]
    for lm in lms:
        lm.eval()
    return lms


@pytest.fixture(scope="module")
def clinical_nlp():
    return blank_pipeline("es")


def flair_reference(lms, words, gaps, tokenized, with_whitespace):
    """Flair's own FlairEmbeddings on a Flair Sentence built here from the words and whether a gap follows each."""
    sentence = Sentence([Token(word, whitespace_after=int(gap)) for word, gap in zip(words, gaps)])
    embeddings = [FlairEmbeddings(lm, tokenized_lm=tokenized, with_whitespace=with_whitespace) for lm in lms]
    for embedding in embeddings:
        embedding.embed(sentence)
    return numpy.stack([torch.cat([token.get_embedding([e.name]) for e in embeddings]).numpy() for token in sentence])


def units(doc, context):
    """Non-whitespace tokens per LM input: the whole document, or per sentence of the rule-based splitter."""
    if context == "document":
        groups = [list(doc)]
    else:
        starts = ClinicalSentencizer().sentence_starts(doc)
        groups = []
        for token in doc:
            if starts[token.i] or not groups:
                groups.append([])
            groups[-1].append(token)
    groups = [[t for t in group if not t.is_space] for group in groups]
    return [group for group in groups if group]


@pytest.mark.parametrize("context", ["document", "sentence"])
@pytest.mark.parametrize("tokenized,with_whitespace", [(False, False), (False, True), (True, False), (True, True)])
def test_vectors_equal_flairs_own_embeddings(tiny_lms, clinical_nlp, context, tokenized, with_whitespace):
    docs = [clinical_nlp(text) for text in TEXTS]
    settings = VectorSettings(context=context, tokenized=tokenized, with_whitespace=with_whitespace,
                              batch_chars=700, chars_per_chunk=512)
    ours = doc_vectors(tiny_lms, docs, settings)
    compared = 0
    for doc, vectors in zip(docs, ours):
        assert vectors.shape == (len(doc), 24)
        for group in units(doc, context):
            gaps = [b.idx > a.idx + len(a.text) for a, b in zip(group, group[1:])] + [False]
            expected = flair_reference(tiny_lms, [t.text for t in group], gaps, tokenized, with_whitespace)
            numpy.testing.assert_allclose(vectors[[t.i for t in group]], expected, rtol=0, atol=1e-6)
            compared += len(group)
        spaces = [t.i for t in doc if t.is_space]
        assert not vectors[spaces].any(), "whitespace tokens get zero vectors"
    assert compared == sum(1 for doc in docs for t in doc if not t.is_space)
    assert any(t.is_space for t in docs[0]) and len(TEXTS[2]) > 512


def test_plain_text_and_tokenized_text_differ(tiny_lms, clinical_nlp):
    """'Edad:62' is read as written, not as 'Edad : 62', unless tokenized: the option does something."""
    doc = clinical_nlp("Edad:62 años")
    plain = doc_vectors(tiny_lms, [doc], VectorSettings(tokenized=False))[0]
    spaced = doc_vectors(tiny_lms, [doc], VectorSettings(tokenized=True))[0]
    assert not numpy.allclose(plain, spaced)


def vectors_model(tmp_path, lms, **kwargs):
    paths = [save_language_model(lm, tmp_path / f"lm-{i}.safetensors") for i, lm in enumerate(lms)]
    return FlairVectors(str(paths[0]), str(paths[1]), **kwargs)


def test_lms_get_no_gradient_and_the_rest_learns(tmp_path, tiny_lms, clinical_nlp):
    docs = [clinical_nlp(text) for text in TEXTS[:3]]
    model = FlairEmbed(8, vectors_model(tmp_path, tiny_lms), features=None, dropout=0.0)
    model.initialize(X=docs)
    lms = [lm for node in model.walk() for shim in node.shims for lm in shim.lms]
    assert len(lms) == 2
    before = [p.detach().clone() for lm in lms for p in lm.parameters()]
    mixer = [node for node in model.walk() if node.name == "maxout"][0]
    mixer_before = mixer.get_param("W").copy()
    outputs, backprop = model.begin_update(docs)
    backprop([numpy.ones_like(y) for y in outputs])
    model.finish_update(Adam(0.1))
    after = [p for lm in lms for p in lm.parameters()]
    assert all(torch.equal(b, a) for b, a in zip(before, after)), "the LMs must not change"
    assert all(p.grad is None and not p.requires_grad for p in after)
    assert not numpy.array_equal(mixer_before, mixer.get_param("W")), "the layers above the LMs must learn"


def test_cache_stores_only_in_training_and_gives_the_same_vectors(tmp_path, tiny_lms, clinical_nlp):
    docs = [clinical_nlp(text) for text in TEXTS[:2]]
    model = vectors_model(tmp_path, tiny_lms)
    model.initialize(X=docs)
    shim = model.shims[0]
    predicted = model.predict(docs)
    assert len(shim.cache) == 0, "inference does not fill the cache"
    trained, _ = model.begin_update(docs)
    assert len(shim.cache) == 2
    again, _ = model.begin_update([clinical_nlp(text) for text in TEXTS[:2]])  # new Doc objects, same text
    assert shim.cache.hits == 2
    for a, b, c in zip(predicted, trained, again):
        numpy.testing.assert_array_equal(a, b)
        numpy.testing.assert_array_equal(b, c)


@pytest.mark.skipif(not __import__("spacy_clinical_flair.ml.precision", fromlist=["x"]).bf16_supported(
    torch.device("cpu")), reason="no bfloat16 arithmetic on this CPU")
@pytest.mark.parametrize("training_precision", ["bf16", "auto"])
def test_training_vectors_in_bf16_come_from_bf16_copies_and_prediction_stays_fp32(
        tmp_path, tiny_lms, clinical_nlp, training_precision):
    docs = [clinical_nlp(text) for text in TEXTS[:3]]
    model = vectors_model(tmp_path, tiny_lms, training_precision=training_precision)
    model.initialize(X=docs)
    shim = model.shims[0]
    assert shim.precompute(docs) == 3
    cached = [shim.cache.get(key) for key in shim.cache.entries]
    by_hand = doc_vectors([lm_copy.to(torch.bfloat16) or lm_copy for lm_copy in
                           [__import__("copy").deepcopy(lm) for lm in shim.lms]], docs, shim.settings)
    fp32 = doc_vectors(shim.lms, docs, shim.settings)
    for got, expected, full in zip(sorted(cached, key=len), sorted(by_hand, key=len), sorted(fp32, key=len)):
        numpy.testing.assert_array_equal(got, expected)  # the bf16 copies' vectors, as computed by hand
        assert not numpy.array_equal(got, full) and numpy.abs(got - full).max() < 0.05  # close to fp32, not it
    shim.cache.clear()  # (cached documents give their cached vectors: dev scores in training read those)
    for predicted, full in zip(model.predict(docs), fp32):  # prediction keeps `precision` (fp32)
        numpy.testing.assert_array_equal(predicted, full)
    assert all(p.dtype == torch.float32 for lm in shim.lms for p in lm.parameters())  # saved weights stay fp32


def test_cache_respects_its_size_limit(tmp_path, tiny_lms, clinical_nlp):
    docs = [clinical_nlp(text) for text in TEXTS[:3]]
    model = vectors_model(tmp_path, tiny_lms, cache_mb=(len(docs[0]) * 24 * 4 + 1) / 1024 / 1024)
    model.initialize(X=docs)
    model.shims[0].precompute(docs)
    cache = model.shims[0].cache
    assert len(cache) == 1 and cache.bytes <= cache.max_bytes  # only the shortest document fits


def test_missing_lm_file_and_no_lm_are_clear_errors(tmp_path, clinical_nlp):
    docs = [clinical_nlp("Hola.")]
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        FlairVectors(str(tmp_path / "missing.safetensors"), None).initialize(X=docs)
    with pytest.raises(ValueError, match="lm_forward"):
        FlairVectors(None, None).initialize(X=docs)
    with pytest.raises(ValueError, match="initialize"):
        FlairVectors(None, None).predict(docs)


def convert_sample(folder: Path):
    from spacy_clinical_flair.corpus.convert import convert_brat_folder

    for split in ("train", "dev"):
        convert_brat_folder(SAMPLE / split, folder / f"{split}.spacy")
    return folder / "train.spacy", folder / "dev.spacy"


def sample_training_overrides(folder: Path, seed: int, hidden_size: int, steps: int, eval_every: int) -> dict:
    """Converted sample train/dev and two tiny random LMs (safetensors) as config overrides."""
    train, dev = convert_sample(folder)
    torch.manual_seed(seed)
    dictionary = character_dictionary(sample_texts("train"))
    lm_paths = [save_language_model(build_language_model(dictionary, forward, hidden_size=hidden_size,
                                                         embedding_size=hidden_size // 2),
                                    folder / f"lm-{forward}.safetensors") for forward in (True, False)]
    return {"paths.train": str(train), "paths.dev": str(dev), "paths.lm_forward": str(lm_paths[0]),
            "paths.lm_backward": str(lm_paths[1]), "training.max_steps": steps, "training.eval_frequency": eval_every}


def ents(doc):
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


@pytest.fixture(scope="module")
def trained_pipeline(tmp_path_factory):
    """spaCy's ner trained on the Flair layer (tiny random LMs) on the bundled sample, with the project's config."""
    from spacy_clinical_flair.training.spacy_train import train_spacy_pipeline

    folder = tmp_path_factory.mktemp("flair-layer")
    overrides = sample_training_overrides(folder, seed=1, hidden_size=16, steps=160, eval_every=40)
    result = train_spacy_pipeline(REPO / "configs" / "spacy_flair_ner.cfg", folder / "out", overrides)
    for key in ("paths.lm_forward", "paths.lm_backward"):
        Path(overrides[key]).unlink()  # the saved pipeline must not need them
    return result, Path(overrides["paths.dev"])


def test_spacy_ner_on_the_flair_layer_learns(trained_pipeline):
    result, _ = trained_pipeline
    assert result.best_score is not None and result.best_score > 0.3, result.scores


def test_saved_pipeline_reloads_with_identical_predictions(trained_pipeline, monkeypatch):
    """The reloaded pipeline (LM files gone) scores exactly what training recorded for model-best on dev,
    and loading it unpickles nothing."""
    from spacy.scorer import Scorer
    from spacy.training import Example

    result, dev = trained_pipeline

    def refuse(*args, **kwargs):
        raise AssertionError("a pickle was loaded")

    with monkeypatch.context() as patch:
        patch.setattr(pickle, "load", refuse)
        patch.setattr(pickle, "loads", refuse)
        patch.setattr(torch, "load", refuse)
        nlp = spacy.load(result.best_model)
    assert flair_shims(nlp) and all(len(shim.lms) == 2 for shim in flair_shims(nlp))
    assert not any(node.ops.use_blis for node in nlp.get_pipe("tok2vec").model.walk()), "blas_ops from the config"
    gold = list(DocBin().from_disk(dev).get_docs(nlp.vocab))
    predicted = list(nlp.pipe(doc.text for doc in gold))
    scores = Scorer.score_spans([Example(p, g) for p, g in zip(predicted, gold)], "ents")
    assert scores["ents_f"] == pytest.approx(result.best_score, abs=1e-9)
    again = spacy.load(result.best_model)
    assert [ents(doc) for doc in again.pipe(doc.text for doc in gold)] == [ents(doc) for doc in predicted]


def test_spancat_on_the_flair_layer_learns_nested_spans(tmp_path_factory):
    """spaCy's spancat on the same layer (configs/spacy_flair_spancat.cfg) learns doc.spans["brat"], nested
    entities included, which no sequence labeller can output."""
    import spacy
    from spacy.tokens import DocBin

    from spacy_clinical_flair.training.spacy_train import train_spacy_pipeline

    folder = tmp_path_factory.mktemp("spancat")
    overrides = sample_training_overrides(folder, seed=2, hidden_size=8, steps=300, eval_every=100)
    gold = list(DocBin().from_disk(overrides["paths.dev"]).get_docs(spacy.blank("es").vocab))
    nested = sum(1 for doc in gold for a in doc.spans["brat"] for b in doc.spans["brat"]
                 if a is not b and a.start <= b.start and b.end <= a.end and (a.start, a.end) != (b.start, b.end))
    assert nested > 0, "the sample's dev split has nested entities"
    result = train_spacy_pipeline(REPO / "configs" / "spacy_flair_spancat.cfg", folder / "out", overrides)
    assert result.best_score is not None and result.best_score > 0.3, result.scores
    assert result.best_score == pytest.approx(result.scores["spans_brat_f"])
    nlp = spacy.load(result.best_model)
    predicted = list(nlp.pipe(doc.text for doc in gold))
    assert any(a.start <= b.start and b.end <= a.end and (a.start, a.end) != (b.start, b.end)
               for doc in predicted for a in doc.spans["brat"] for b in doc.spans["brat"])


def test_budget_stops_training_after_an_evaluation(tmp_path):
    import time

    from spacy_clinical_flair.training.budget import BudgetExpired
    from spacy_clinical_flair.training.spacy_train import TrainingBudget

    now = time.time()
    budget = TrainingBudget(deadline=now + 100, eval_frequency=10)
    budget(None, {"step": 1})  # right after the first evaluation: no period known yet
    budget.evaluated_at = [now - 150]  # evaluations 150 s apart: the next would end past the deadline (100 s)
    with pytest.raises(BudgetExpired):
        budget(None, {"step": 11})
    budget(None, {"step": 12})  # not after an evaluation, deadline not reached: goes on
    with pytest.raises(BudgetExpired):
        TrainingBudget(deadline=now - 1, eval_frequency=10)(None, {"step": 5})


def test_spacy_package_installs_and_loads_elsewhere(trained_pipeline, tmp_path):
    """`spacy package` of the pipeline, installed with pip into a folder of its own, loads by package name in a
    fresh interpreter outside the repository (no LM file, no assets/) and predicts what the folder predicts."""
    import json
    import subprocess
    import sys
    import tarfile

    result, dev = trained_pipeline
    run = dict(capture_output=True, text=True)
    (tmp_path / "packages").mkdir()
    built = subprocess.run([sys.executable, "-m", "spacy", "package", str(result.best_model), str(tmp_path / "packages"),
                            "--name", "flair_layer_test", "--version", "0.0.1", "--force"], **run)
    assert built.returncode == 0, built.stdout + built.stderr
    (archive,) = (tmp_path / "packages").glob("*/dist/*.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert any(name.endswith("/tok2vec/model") for name in names)
    assert not any(name.endswith((".pt", ".pkl", ".pickle")) for name in names)
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                                "--target", str(target), str(archive)], **run)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    texts = [doc.text for doc in DocBin().from_disk(dev).get_docs(spacy.blank("es").vocab)][:5]
    script = ("import json, sys, spacy; nlp = spacy.load('es_flair_layer_test'); "
              "print(json.dumps([[[e.start_char, e.end_char, e.label_] for e in d.ents] "
              "for d in nlp.pipe(json.load(sys.stdin))]))")
    loaded = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts), cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(target)}, **run)
    assert loaded.returncode == 0, loaded.stderr
    expected = [[list(entity) for entity in ents(doc)] for doc in spacy.load(result.best_model).pipe(texts)]
    assert json.loads(loaded.stdout) == expected and any(expected)


def test_bf16_precision_on_the_layer_copies_the_lms_and_leaves_the_saved_weights(trained_pipeline, monkeypatch):
    """set_precision(nlp, "bf16"): vectors outside training come from bfloat16 copies of the LMs (close to fp32),
    the LMs that get saved stay float32; without bf16 hardware it warns and stays fp32."""
    from spacy_clinical_flair import set_precision

    result, dev = trained_pipeline
    nlp = spacy.load(result.best_model)
    shim = flair_shims(nlp)[0]
    docs = [nlp.make_doc(doc.text) for doc in DocBin().from_disk(dev).get_docs(nlp.vocab)][:4]
    exact = shim.vectors(docs, store=False)
    saved = shim.to_bytes()
    monkeypatch.setattr("spacy_clinical_flair.ml.precision.bf16_supported", lambda device: True)
    assert set_precision(nlp, "bf16") == 1
    rounded = shim.vectors(docs, store=False)
    assert all(p.dtype == torch.bfloat16 for lm in shim.prediction_lms() for p in lm.parameters())
    assert all(p.dtype == torch.float32 for lm in shim.lms for p in lm.parameters())
    worst = max(float(abs(a - b).max()) for a, b in zip(exact, rounded))
    assert 0 < worst < 0.05
    restored = FlairLMShim(shim.settings, 1).from_bytes(shim.to_bytes()).lms  # what a saved pipeline holds
    for lm, before in zip(restored, FlairLMShim(shim.settings, 1).from_bytes(saved).lms):
        state, expected = lm.state_dict(), before.state_dict()
        assert all(state[k].dtype == torch.float32 and torch.equal(state[k], v) for k, v in expected.items())
    # training never uses the copies
    assert all((a == b).all() for a, b in zip(shim.vectors(docs, store=True), exact))
    monkeypatch.setattr("spacy_clinical_flair.ml.precision.bf16_supported", lambda device: False)
    set_precision(nlp, "bf16")
    shim.cache.clear()
    with pytest.warns(UserWarning, match="Flair vectors layer: precision 'bf16'.*predicting in fp32"):
        again = shim.vectors(docs, store=False)
    assert all((a == b).all() for a, b in zip(again, exact))


def test_onnx_engine_on_the_layer_gives_the_same_vectors_and_entities(trained_pipeline):
    """set_engine(nlp, "onnx"): ONNX Runtime graphs of the LMs compute the prediction vectors, equal to torch's
    to 1e-5, so the entities are the same; int8 moves the vectors but a little; training stays torch."""
    pytest.importorskip("onnxruntime")
    from spacy_clinical_flair import set_engine
    from spacy_clinical_flair.ml.onnx_lm import OnnxLM

    result, dev = trained_pipeline
    nlp = spacy.load(result.best_model)
    shim = flair_shims(nlp)[0]
    texts = [doc.text for doc in DocBin().from_disk(dev).get_docs(nlp.vocab)]
    docs = [nlp.make_doc(text) for text in texts]
    exact = shim.vectors(docs, store=False)
    torch_ents = [ents(doc) for doc in nlp.pipe(texts)]
    assert set_engine(nlp, "onnx") == 1
    assert all(isinstance(lm, OnnxLM) for lm in shim.prediction_lms())
    for a, b in zip(shim.vectors(docs, store=False), exact):
        numpy.testing.assert_allclose(a, b, atol=1e-5)
    assert [ents(doc) for doc in nlp.pipe(texts)] == torch_ents
    set_engine(nlp, "onnx", "int8")
    moved = max(float(abs(a - b).max()) for a, b in zip(shim.vectors(docs, store=False), exact))
    assert 0 < moved < 0.5
    assert all((a == b).all() for a, b in zip(shim.vectors(docs, store=True), exact))  # training: torch, fp32
    with pytest.raises(ValueError, match="needs engine 'onnx'"):
        set_engine(nlp, "torch", "int8")
    with pytest.raises(ValueError, match="engine must be one of"):
        set_engine(nlp, "tensorrt")


def test_export_onnx_saves_the_layers_graphs_inside_its_weights_and_loads_them_checked(trained_pipeline, tmp_path):
    """export-onnx on the trained sample pipeline: config engine "onnx", the LM graphs saved with the layer's weights
    and run when loaded (not made again), the entities PyTorch's; a saved graph that is not one is refused."""
    pytest.importorskip("onnxruntime")
    import srsly

    from spacy_clinical_flair.ml.onnx_lm import OnnxModelError
    from spacy_clinical_flair.pipeline.onnx_export import export_onnx

    result, dev = trained_pipeline
    nlp = spacy.load(result.best_model)
    texts = [doc.text for doc in DocBin().from_disk(dev).get_docs(nlp.vocab)]
    torch_ents = [ents(doc) for doc in nlp.pipe(texts)]
    assert sum(map(len, torch_ents)) > 10
    report = export_onnx(nlp, tmp_path / "onnx", "fp32", texts)
    assert (report.parts, report.agreement) == (1, 1.0)
    loaded = spacy.load(tmp_path / "onnx")
    shim = flair_shims(loaded)[0]
    assert shim.engine == "onnx" and len(shim.stored_graphs) == 2
    assert [lm.graph for lm in shim.prediction_lms()] == shim.stored_graphs
    assert [ents(doc) for doc in loaded.pipe(texts)] == torch_ents
    saved = srsly.msgpack_loads(shim.to_bytes())
    assert saved["onnx"] == shim.stored_graphs
    saved["onnx"][1] = b"garbage"
    fresh = FlairLMShim(shim.settings, 1, "fp32", engine="onnx")
    with pytest.raises(OnnxModelError, match="Flair vectors layer's ONNX graph of LM 1 is not an ONNX model"):
        fresh.from_bytes(srsly.msgpack_dumps(saved))


def test_heads_on_the_same_lms_run_them_once_and_store_them_once(trained_pipeline, tmp_path, monkeypatch):
    """configs/clinical_heads.cfg with the trained pipeline as all three heads: every head's span group is what the
    pipeline predicts alone, the LMs run once per document (not once per head), no loan outlives the pipe, and
    the LMs are saved once; without the sharing callback the saved heads cannot load their LMs, and say why."""
    import subprocess
    import sys

    from spacy_clinical_flair.ml import flair_tok2vec, shared_vectors
    from spacy_clinical_flair.models.lm_io import LMFileError, lm_to_bytes

    result, dev = trained_pipeline
    alone = spacy.load(result.best_model)
    texts = [doc.text for doc in DocBin().from_disk(dev).get_docs(alone.vocab)]
    expected = [ents(doc) for doc in alone.pipe(texts)]
    assert sum(map(len, expected)) > 10
    out = tmp_path / "heads"
    paths = [arg for key in ("drugs", "procedures", "symptoms") for arg in (f"--paths.{key}", str(result.best_model))]
    subprocess.run([sys.executable, "-m", "spacy", "assemble", str(REPO / "configs/clinical_heads.cfg"), str(out),
                    *paths], check=True, capture_output=True)
    lm_bytes = sum(len(lm_to_bytes(lm)) for lm in flair_shims(alone)[0].lms)
    sizes = {key: (out / f"ner_{key}" / "model").stat().st_size for key in ("drugs", "procedures", "symptoms")}
    assert sizes["procedures"] == sizes["symptoms"] < sizes["drugs"] - lm_bytes + 1000  # one copy of the LMs

    computed = []
    real = flair_tok2vec.doc_vectors
    monkeypatch.setattr(flair_tok2vec, "doc_vectors", lambda lms, docs, settings: computed.append(len(docs))
                        or real(lms, docs, settings))
    heads = spacy.load(out)
    assert len({id(shim.lms[0]) for shim in flair_shims(heads)}) == 1  # one copy in memory too
    docs = list(heads.pipe(texts))
    assert sum(computed) == len(texts)
    assert shared_vectors.outstanding() == 0
    for key in ("drugs", "procedures", "symptoms"):
        assert [[(s.start_char, s.end_char, s.label_) for s in doc.spans[key]] for doc in docs] == expected
    assert [ents(doc) for doc in docs] == expected  # three equal groups: their union without overlaps is one of them
    with pytest.raises(LMFileError, match="shares the LMs of another Flair layer"):
        spacy.load(out, config={"nlp": {"after_pipeline_creation": None}})


def test_union_of_head_groups_keeps_the_longest_of_overlapping_spans(clinical_nlp):
    from spacy.tokens import Span, SpanGroup

    from spacy_clinical_flair.pipeline.vote import UnionEnts

    doc = clinical_nlp("Dolor torácico tras aspirina y biopsia hepática.")
    words = [token.text for token in doc]
    assert words[:7] == ["Dolor", "torácico", "tras", "aspirina", "y", "biopsia", "hepática"]
    doc.spans["drugs"] = SpanGroup(doc, spans=[Span(doc, 3, 4, "FARMACO")])
    doc.spans["symptoms"] = SpanGroup(doc, spans=[Span(doc, 0, 2, "SINTOMA")])
    doc.spans["procedures"] = SpanGroup(doc, spans=[Span(doc, 0, 1, "PROC"), Span(doc, 5, 7, "PROC")])
    UnionEnts("entities", ["drugs", "procedures", "symptoms"])(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("Dolor torácico", "SINTOMA"), ("aspirina", "FARMACO"),
                                                      ("biopsia hepática", "PROC")]
    assert len(doc.spans["procedures"]) == 2  # the groups keep the overlapping span
    with pytest.raises(ValueError, match="has no span group 'findings'"):
        UnionEnts("entities", ["findings"])(doc)


def test_lms_that_are_float16_values_are_saved_in_half_and_come_back_bit_for_bit(tiny_lms):
    """LMs read from float16 files (as assets/lms ships them) are saved in float16 inside the pipeline, half the
    bytes, the same float32 weights after loading; other LMs are saved in float32."""
    import copy

    import srsly

    from spacy_clinical_flair.models.lm_io import lm_to_bytes

    rounded = [copy.deepcopy(lm) for lm in tiny_lms]
    for lm in rounded:
        with torch.no_grad():
            for tensor in lm.parameters():
                tensor.copy_(tensor.half().float())
    settings = VectorSettings()
    for lms, half in ((rounded, True), (tiny_lms, False)):
        shim = FlairLMShim(settings, 1)
        shim.set_lms(lms)
        data = shim.to_bytes()
        assert [len(blob) for blob in srsly.msgpack_loads(data)["lms"]] == [len(lm_to_bytes(lm, half=half)) for lm in lms]
        again = FlairLMShim(settings, 1).from_bytes(data)
        for original, loaded in zip(lms, again.lms):  # (the layer keeps no decoder)
            weights = original.state_dict()
            assert loaded.state_dict() and all(tensor.dtype == torch.float32 and torch.equal(weights[name], tensor)
                                               for name, tensor in loaded.state_dict().items())


def test_lm_batches_are_padded_to_few_shapes_without_changing_a_state(tiny_lms, clinical_nlp, monkeypatch):
    # oneDNN caches one LSTM kernel per input shape: with a new length every batch, a long stream grows the
    # process by hundreds of MB; batch lengths rounded up to a multiple of LENGTH_BUCKET keep the shapes few
    from spacy_clinical_flair.ml import lm_vectors

    words = "a bb ccc dddd eeeee ffffff ggggggg hhhhhhhh iiiiiiiii jjjjjjjjjj".split()
    docs = [clinical_nlp(" ".join(words[:n])) for n in range(1, len(words) + 1)]  # 1 to 64 characters
    settings = VectorSettings(context="document", batch_chars=10)  # every document its own batch
    lengths = []
    forward = type(tiny_lms[0]).forward

    def spy(lm, chunk, hidden, decode=True):
        lengths.append(chunk.shape[0])
        return forward(lm, chunk, hidden, decode=decode)

    monkeypatch.setattr(type(tiny_lms[0]), "forward", spy)
    bucketed = doc_vectors(tiny_lms, docs, settings)
    # the LM reads "\n" + text + " ": 3 to 66 characters, each rounded up to the next multiple of 8
    read = [len(doc.text) + 2 for doc in docs]
    assert read[0] == 3 and read[-1] == 66
    assert sorted(set(lengths)) == sorted({(n + 7) // 8 * 8 for n in read}) == [8, 16, 24, 32, 40, 48, 56, 72]
    monkeypatch.setattr(lm_vectors, "LENGTH_BUCKET", 1)
    lengths.clear()
    exact = doc_vectors(tiny_lms, docs, settings)
    assert sorted(set(lengths)) == read  # unrounded: one shape per document
    for rounded, unrounded in zip(bucketed, exact):
        numpy.testing.assert_array_equal(rounded, unrounded)


def test_mixing_layer_is_thincs_maxout_without_the_frozen_columns_gradient(tmp_path, tiny_lms, clinical_nlp):
    """FlairEmbed's mixing layer computes what thinc's Maxout(normalize=True) computes (same outputs, same
    parameter gradients, same input gradient for the hash features) and hands the frozen LM columns no
    gradient; its nodes and parameters are named as thinc's, so pipelines saved before it load unchanged."""
    from spacy.ml.models.tok2vec import MultiHashEmbed
    from thinc.api import Maxout

    docs = [clinical_nlp(text) for text in TEXTS[:3]]
    features = MultiHashEmbed(8, ["NORM", "SHAPE"], [50, 50], False)
    model = FlairEmbed(8, vectors_model(tmp_path, tiny_lms), features=features, dropout=0.0)
    model.initialize(X=docs)
    mixer = [node for node in model.walk() if node.name == "maxout" and "trainable_columns" in node.attrs][0]
    lm_width = sum(lm.hidden_size for lm in tiny_lms)
    assert mixer.attrs["trainable_columns"] == 8 and mixer.get_dim("nI") == 8 + lm_width
    reference = Maxout(8, nP=3, normalize=True)
    mix_chain = [node for node in model.walk() if node.name == "maxout>>layernorm"][0]
    assert [n.name for n in reference.walk()] == [n.name for n in mix_chain.walk()]
    X = numpy.random.default_rng(0).normal(size=(7, 8 + lm_width)).astype("float32")
    reference.initialize(X=X)
    for mine, theirs in zip(mix_chain.walk(), reference.walk()):
        assert mine.param_names == theirs.param_names
        for name in mine.param_names:
            theirs.set_param(name, mine.get_param(name).copy())
    Y, backprop = mix_chain.begin_update(X)
    Y_ref, backprop_ref = reference.begin_update(X)
    numpy.testing.assert_allclose(Y, Y_ref, rtol=1e-6)
    dY = numpy.random.default_rng(1).normal(size=Y.shape).astype("float32")
    dX, dX_ref = backprop(dY), backprop_ref(dY)
    numpy.testing.assert_allclose(dX[:, :8], dX_ref[:, :8], rtol=1e-5, atol=1e-6)
    assert not dX[:, 8:].any() and dX_ref[:, 8:].any()
    for mine, theirs in zip(mix_chain.walk(), reference.walk()):
        for name in mine.param_names:
            numpy.testing.assert_allclose(mine.get_grad(name), theirs.get_grad(name), rtol=1e-5, atol=1e-6)


def test_a_budget_spent_before_the_first_evaluation_is_a_clear_failure(tmp_path):
    """train-spacy-ner with a budget smaller than reading the data takes: exit 1, one line saying what to raise."""
    from typer.testing import CliRunner

    from spacy_clinical_flair.cli import app

    overrides = sample_training_overrides(tmp_path, seed=1, hidden_size=8, steps=40, eval_every=20)
    args = [arg for key, value in overrides.items() for arg in (f"--{key}", str(value))]
    result = CliRunner().invoke(app, ["train-spacy-ner", str(REPO / "configs" / "spacy_flair_ner.cfg"),
                                      str(tmp_path / "out"), "--max-minutes", "0.0001", *args])
    assert result.exit_code == 1, result.output
    assert "no dev evaluation fitted in --max-minutes 0.0001" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out" / "model-best").exists()


def test_seed_vote_keeps_what_two_of_three_members_predicted_and_runs_the_lms_once(trained_pipeline, tmp_path,
                                                                                  monkeypatch):
    """configs/seed_vote.cfg with members A, B, A (B: the same recipe and LMs, another seed and fewer steps): each
    member's span group is what it predicts alone, doc.ents is every entity at least two groups hold (here A's, since
    A votes twice), and the LMs run once per document; with A, B, B it is B's."""
    import subprocess
    import sys
    from collections import Counter

    from spacy_clinical_flair.ml import flair_tok2vec
    from spacy_clinical_flair.training.spacy_train import train_spacy_pipeline

    result_a, dev = trained_pipeline
    model_a = spacy.load(result_a.best_model)
    # seed 1 draws the very LMs of trained_pipeline again; spaCy's own seed and the steps differ
    overrides = {**sample_training_overrides(tmp_path / "b", seed=1, hidden_size=16, steps=80, eval_every=40),
                 "system.seed": 2}
    result_b = train_spacy_pipeline(REPO / "configs" / "spacy_flair_ner.cfg", tmp_path / "b" / "out", overrides)
    texts = [doc.text for doc in DocBin().from_disk(dev).get_docs(model_a.vocab)]
    alone = {"a": [ents(doc) for doc in model_a.pipe(texts)],
             "b": [ents(doc) for doc in spacy.load(result_b.best_model).pipe(texts)]}
    assert alone["a"] != alone["b"]  # two members that disagree somewhere, or the vote shows nothing

    computed = []
    real = flair_tok2vec.doc_vectors
    monkeypatch.setattr(flair_tok2vec, "doc_vectors", lambda lms, docs, settings: computed.append(len(docs))
                        or real(lms, docs, settings))
    models = {"a": result_a.best_model, "b": result_b.best_model}
    for members in ("aba", "abb"):
        out = tmp_path / members
        paths = [arg for n, key in enumerate(members, 1) for arg in (f"--paths.seed{n}", str(models[key]))]
        subprocess.run([sys.executable, "-m", "spacy", "assemble", str(REPO / "configs/seed_vote.cfg"), str(out),
                        *paths], check=True, capture_output=True)
        computed.clear()
        docs = list(spacy.load(out).pipe(texts))
        assert sum(computed) == len(texts)
        for n, key in enumerate(members, 1):
            assert [[(s.start_char, s.end_char, s.label_) for s in doc.spans[f"seed{n}"]] for doc in docs] == alone[key]
        for doc, *groups in zip(docs, *(alone[key] for key in members)):
            counts = Counter(entity for group in groups for entity in set(group))
            assert ents(doc) == sorted(entity for entity, votes in counts.items() if votes >= 2)
        assert [ents(doc) for doc in docs] == alone[Counter(members).most_common(1)[0][0]]
