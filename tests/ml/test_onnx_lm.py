"""Character LMs as ONNX graphs (spacy_clinical_flair.ml.onnx_lm): the same states as PyTorch, int8 close to them,
and files that are not what the package writes refused before ONNX Runtime sees them."""
from __future__ import annotations

import subprocess
import sys

import numpy
import pytest
import spacy

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from spacy_clinical_flair.ml.lm_vectors import VectorSettings, doc_vectors, lm_states, text_units  # noqa: E402
from spacy_clinical_flair.ml.onnx_lm import OnnxModelError, check_graph, lm_graph, onnx_lm, quantize_int8  # noqa: E402
from spacy_clinical_flair.models.build import build_language_model, character_dictionary  # noqa: E402

TEXTS = ["Paciente de 45 años con fiebre.\nNiega dolor  torácico; TA 120/80 mmHg.", "Sin fiebre.", "Dx: EPOC grado II"]


def tiny_lm(forward: bool, layers: int = 1, nout=None, seed: int = 0):
    import torch
    from flair.models import LanguageModel

    torch.manual_seed(seed)
    dictionary = character_dictionary(TEXTS)
    if nout is None:
        lm = build_language_model(dictionary, forward, hidden_size=16, nlayers=layers, embedding_size=8)
    else:
        lm = LanguageModel(dictionary, is_forward_lm=forward, hidden_size=16, nlayers=layers, embedding_size=8,
                           nout=nout)
    return lm.eval()


def units_of(texts, settings):
    nlp = spacy.blank("es")
    return [unit for i, doc in enumerate(nlp.pipe(texts)) for unit in text_units(doc, i, settings)]


@pytest.mark.parametrize("forward, layers, nout", [(True, 1, None), (False, 1, None), (True, 2, None),
                                                    (False, 2, None), (True, 1, 6)])
def test_onnx_states_equal_pytorch_states_chunk_by_chunk(forward, layers, nout):
    lm = tiny_lm(forward, layers, nout)
    # 7 characters a chunk: every text is read in several chunks, the states carried between them
    settings = VectorSettings(chars_per_chunk=7)
    units = units_of(TEXTS, settings)
    expected = lm_states(lm, units, settings)
    got = lm_states(onnx_lm(lm_graph(lm), lm), units, settings)
    assert [tuple(s.shape) for s in got] == [tuple(s.shape) for s in expected]
    assert [s.shape[1] for s in got] == [nout or 16] * len(units)
    for a, b in zip(got, expected):
        numpy.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_onnx_lms_give_the_flair_layer_vectors():
    lms = [tiny_lm(True, seed=1), tiny_lm(False, seed=2)]
    nlp = spacy.blank("es")
    docs = list(nlp.pipe(TEXTS))
    settings = VectorSettings()
    expected = doc_vectors(lms, docs, settings)
    got = doc_vectors([onnx_lm(lm_graph(lm), lm) for lm in lms], docs, settings)
    for a, b in zip(got, expected):
        numpy.testing.assert_allclose(a, b, atol=1e-5)
    # the whitespace token of the first text ("  " is one token) stays zero
    assert not got[0][[t.i for t in docs[0] if t.is_space]].any()


def test_int8_weights_move_the_states_a_little_and_only_a_little():
    lm = tiny_lm(True, layers=2, seed=3)
    settings = VectorSettings()
    units = units_of(TEXTS, settings)
    model = quantize_int8(lm_graph(lm))
    assert {node.op_type for node in model.graph.node} >= {"DynamicQuantizeLSTM"}
    exact = numpy.concatenate([s.numpy() for s in lm_states(lm, units, settings)])
    quantized = numpy.concatenate([s.numpy() for s in lm_states(onnx_lm(model, lm), units, settings)])
    difference = numpy.abs(quantized - exact)
    # measured, not assumed: int8 changes the states (it is not fp32 under another name) but keeps their direction
    assert difference.max() > 1e-6
    assert difference.max() < 0.05
    cosine = (quantized * exact).sum(1) / (numpy.linalg.norm(quantized, axis=1) * numpy.linalg.norm(exact, axis=1))
    assert cosine.min() > 0.99


def test_what_is_not_an_exported_lm_is_refused():
    from onnx import TensorProto, helper

    lm = tiny_lm(True)
    good = lm_graph(lm)
    assert check_graph(good.SerializeToString()).graph.name == "clinical_flair_lm"
    with pytest.raises(OnnxModelError, match="not an ONNX model"):
        check_graph(b"\x08\x07garbage" * 10, "x.onnx")
    with pytest.raises(OnnxModelError, match="larger than"):
        _too_large()

    custom = onnx.ModelProto()
    custom.CopyFrom(good)
    custom.graph.node.append(helper.make_node("EvilOp", ["states"], ["other"], domain="evil.domain"))
    with pytest.raises(OnnxModelError, match="operator evil.domain.EvilOp"):
        check_graph(custom.SerializeToString(), "custom.onnx")

    looping = onnx.ModelProto()
    looping.CopyFrom(good)
    looping.graph.node.append(helper.make_node("Loop", ["", ""], ["x"]))
    with pytest.raises(OnnxModelError, match="operator Loop"):
        check_graph(looping.SerializeToString(), "loop.onnx")

    external = onnx.ModelProto()
    external.CopyFrom(good)
    weight = external.graph.initializer[0]
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="../../etc/passwd")
    with pytest.raises(OnnxModelError, match="external files"):
        check_graph(external.SerializeToString(), "external.onnx")

    renamed = onnx.ModelProto()
    renamed.CopyFrom(good)
    renamed.graph.output.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, [1]))
    with pytest.raises(OnnxModelError, match="inputs .* and outputs"):
        check_graph(renamed.SerializeToString(), "renamed.onnx")


def _too_large():
    import spacy_clinical_flair.ml.onnx_lm as module

    limit, module.MAX_GRAPH_BYTES = module.MAX_GRAPH_BYTES, 100
    try:
        check_graph(lm_graph(tiny_lm(True)).SerializeToString(), "big.onnx")
    finally:
        module.MAX_GRAPH_BYTES = limit


def test_gru_lms_are_refused_with_a_reason():
    from flair.models import LanguageModel

    lm = LanguageModel(character_dictionary(TEXTS), is_forward_lm=True, hidden_size=8, nlayers=1,
                       embedding_size=4, recurrent_type="GRU")
    with pytest.raises(ValueError, match="only LSTM language models"):
        lm_graph(lm)


def test_the_vectors_module_does_not_import_onnx_runtime():
    code = ("import sys, spacy_clinical_flair.ml.lm_vectors, spacy_clinical_flair.ml.onnx_lm\n"
            "print(sorted(m for m in ('onnx', 'onnxruntime') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("available,device,expected", [
    (["CUDAExecutionProvider", "CPUExecutionProvider"], "cuda", ["CUDAExecutionProvider", "CPUExecutionProvider"]),
    (["CUDAExecutionProvider", "CPUExecutionProvider"], "cpu", ["CPUExecutionProvider"]),
    (["CPUExecutionProvider"], "cuda", ["CPUExecutionProvider"]),
])
def test_sessions_use_cuda_only_where_onnx_runtime_has_it_and_spacy_runs_on_the_gpu(monkeypatch, available, device,
                                                                                     expected):
    import types

    import onnxruntime
    import thinc.api
    import torch

    from spacy_clinical_flair.ml.onnx_lm import inference_session

    made = []
    runtime = types.SimpleNamespace(
        SessionOptions=onnxruntime.SessionOptions, get_available_providers=lambda: available,
        InferenceSession=lambda data, options, providers: made.append((options.intra_op_num_threads, providers)))
    monkeypatch.setattr(thinc.api, "get_torch_default_device", lambda: torch.device(device))
    inference_session(runtime, b"graph", threads=3)
    assert made == [(3, expected)]
