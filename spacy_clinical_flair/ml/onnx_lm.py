"""Flair character LMs as ONNX graphs, run by ONNX Runtime: fp32, or with int8 weights.

Flair exports only transformer embeddings; its character LMs are plain PyTorch. :func:`lm_graph` writes one as an
ONNX graph by hand, operator by operator (character ids → embedding ``Gather`` → one ONNX ``LSTM`` per layer →
the optional projection), with the weights copied from the LM (PyTorch's gate order i, f, g, o reordered to ONNX's
i, o, f, c), dynamic character and batch axes, and the states in and out, so that a long text is read chunk by chunk
exactly as :func:`~.lm_vectors.batch_states` reads it with PyTorch. No tracing: the graph holds nothing but these
operators, whatever the PyTorch version.

:class:`OnnxLM` runs such a graph and answers what :func:`~.lm_vectors.batch_states` asks of a Flair
``LanguageModel`` (``forward(chunk, hidden, decode=False)``, ``init_hidden``, the dictionary, the sizes), so the
vectors' text handling, batching and token positions stay the project's own. :func:`quantize_int8` makes the
weights of the LSTMs and the projection int8 (ONNX Runtime's dynamic quantization: activations quantized per batch
at run time); how far its vectors move is measured, not assumed (``benchmarks/onnx_bench.py``).

Loading follows the no-pickle rule of the safetensors files: :func:`check_graph` refuses a file over the size limit,
with external data, with an operator outside :data:`ALLOWED_OPERATORS`, or with other inputs and outputs than the
ones written here. ``onnx`` and ``onnxruntime`` are imported only here, and only when an ONNX LM is made or loaded
(the ``onnx`` extra).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Tuple, Union

import numpy

if TYPE_CHECKING:
    import torch
    from flair.data import Dictionary
    from flair.models import LanguageModel

#: The graph's inputs and outputs, by name.
INPUTS = ("chars", "h0", "c0")
OUTPUTS = ("states", "h_n", "c_n")
#: Operators a graph written by :func:`lm_graph` (and quantized by :func:`quantize_int8`) holds: (domain, type).
ALLOWED_OPERATORS = frozenset({
    ("", "Gather"), ("", "LSTM"), ("", "Squeeze"), ("", "Unsqueeze"), ("", "Slice"), ("", "Concat"),
    ("", "MatMul"), ("", "Add"), ("", "Identity"), ("", "Cast"), ("", "Shape"), ("", "Reshape"), ("", "Transpose"),
    ("", "DynamicQuantizeLinear"), ("", "MatMulInteger"), ("", "Mul"),
    ("com.microsoft", "DynamicQuantizeLSTM"), ("com.microsoft", "DynamicQuantizeMatMul"),
    ("com.microsoft", "MatMulIntegerToFloat"),
})
MAX_GRAPH_BYTES = 2 * 2 ** 30
OPSET = 17
#: PyTorch's LSTM gate blocks (i, f, g, o) in ONNX's order (i, o, f, c)
_GATE_ORDER = (0, 3, 1, 2)


class OnnxModelError(ValueError):
    """An ONNX file is not one this package wrote, or asks for something a model file may not."""


def onnxruntime_module() -> Any:
    """The ``onnxruntime`` module, or an ImportError that says how to install it."""
    try:
        import onnx  # noqa: F401  (both come with the extra)
        import onnxruntime
    except ImportError:
        raise ImportError("engine 'onnx' needs ONNX Runtime: pip install 'spacy-clinical-flair[onnx]' (or set the "
                          "component's engine to 'torch')") from None
    return onnxruntime


def inference_session(onnxruntime: Any, data: bytes, threads: int = 0) -> Any:
    """An ONNX Runtime session for the graph ``data``: on the GPU where ONNX Runtime has CUDA (the
    ``onnxruntime-gpu`` build, extra ``onnx-gpu``) and spaCy runs on a GPU (``spacy.require_gpu()``, ``--gpu-id``),
    else on the CPU with ``threads`` threads (0: ONNX Runtime's choice)."""
    from thinc.api import get_torch_default_device

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    providers = ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers() and \
            get_torch_default_device().type == "cuda":
        providers.insert(0, "CUDAExecutionProvider")
    return onnxruntime.InferenceSession(data, options, providers=providers)


def lm_graph(lm: "LanguageModel") -> Any:
    """The ONNX graph (an ``onnx.ModelProto``) of ``lm``'s state computation, its weights in float32."""
    from onnx import TensorProto, helper, numpy_helper

    if type(lm.rnn).__name__ != "LSTM":
        raise ValueError(f"only LSTM language models can be written as ONNX, not {type(lm.rnn).__name__}")
    hidden, layers = lm.hidden_size, lm.nlayers
    weights = {"embedding": _array(lm.encoder.weight)}
    nodes = [helper.make_node("Gather", ["embedding", "chars"], ["layer0_in"], axis=0)]
    finals_h, finals_c = [], []
    for layer in range(layers):
        weights.update(_lstm_weights(lm.rnn, layer))
        nodes += [
            helper.make_node("Slice", ["h0", f"at{layer}", f"at{layer + 1}", "axis0"], [f"h0_{layer}"]),
            helper.make_node("Slice", ["c0", f"at{layer}", f"at{layer + 1}", "axis0"], [f"c0_{layer}"]),
            helper.make_node("LSTM", [f"layer{layer}_in", f"W{layer}", f"R{layer}", f"B{layer}", "", f"h0_{layer}",
                                      f"c0_{layer}"], [f"y{layer}", f"h_n{layer}", f"c_n{layer}"], hidden_size=hidden),
            helper.make_node("Squeeze", [f"y{layer}", "axis1"], [f"layer{layer + 1}_in"]),
        ]
        finals_h.append(f"h_n{layer}")
        finals_c.append(f"c_n{layer}")
        weights[f"at{layer}"] = numpy.array([layer], dtype=numpy.int64)
    weights[f"at{layers}"] = numpy.array([layers], dtype=numpy.int64)
    weights["axis0"] = numpy.array([0], dtype=numpy.int64)
    weights["axis1"] = numpy.array([1], dtype=numpy.int64)
    last = f"layer{layers}_in"
    if lm.proj is not None:
        weights["proj_w"] = _array(lm.proj.weight).T.copy()
        weights["proj_b"] = _array(lm.proj.bias)
        nodes += [helper.make_node("MatMul", [last, "proj_w"], ["projected"]),
                  helper.make_node("Add", ["projected", "proj_b"], ["states"])]
    else:
        nodes.append(helper.make_node("Identity", [last], ["states"]))
    nodes += [helper.make_node("Concat", finals_h, ["h_n"], axis=0),
              helper.make_node("Concat", finals_c, ["c_n"], axis=0)]
    width = lm.nout or hidden
    graph = helper.make_graph(
        nodes, "clinical_flair_lm",
        inputs=[helper.make_tensor_value_info("chars", TensorProto.INT64, ["characters", "batch"]),
                helper.make_tensor_value_info("h0", TensorProto.FLOAT, [layers, "batch", hidden]),
                helper.make_tensor_value_info("c0", TensorProto.FLOAT, [layers, "batch", hidden])],
        outputs=[helper.make_tensor_value_info("states", TensorProto.FLOAT, ["characters", "batch", width]),
                 helper.make_tensor_value_info("h_n", TensorProto.FLOAT, [layers, "batch", hidden]),
                 helper.make_tensor_value_info("c_n", TensorProto.FLOAT, [layers, "batch", hidden])],
        initializer=[numpy_helper.from_array(value, name) for name, value in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="spacy-clinical-flair")
    model.ir_version = 8
    return model


def _array(tensor: "torch.Tensor") -> numpy.ndarray:
    return tensor.detach().to("cpu").float().numpy().copy()


def _lstm_weights(rnn: "torch.nn.LSTM", layer: int, suffix: str = "") -> Dict[str, numpy.ndarray]:
    """One layer's W [1, 4H, in], R [1, 4H, H] and B [1, 8H] in ONNX's gate order (``suffix`` "_reverse":
    the backward direction of a bidirectional LSTM)."""
    def gates(array: numpy.ndarray) -> numpy.ndarray:
        blocks = numpy.split(array, 4, axis=0)
        return numpy.concatenate([blocks[g] for g in _GATE_ORDER], axis=0)

    w = gates(_array(getattr(rnn, f"weight_ih_l{layer}{suffix}")))
    r = gates(_array(getattr(rnn, f"weight_hh_l{layer}{suffix}")))
    b = numpy.concatenate([gates(_array(getattr(rnn, f"bias_ih_l{layer}{suffix}"))),
                           gates(_array(getattr(rnn, f"bias_hh_l{layer}{suffix}")))])
    return {f"W{layer}": w[None], f"R{layer}": r[None], f"B{layer}": b[None]}


def quantize_int8(model: Any) -> Any:
    """``model`` with int8 weights in its LSTMs and projection (ONNX Runtime's dynamic quantization, one scale per
    output channel)."""
    import logging
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "fp32.onnx", Path(folder) / "int8.onnx"
        onnx.save(model, source)
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)  # its advice to pre-process is for image models with shape inference
        try:
            # per output channel: one scale per gate row instead of one per matrix. Per tensor, a paper-size
            # tagger changed 1.7% of its entities; per channel 0.2% (benchmarks/README.md, ONNX Runtime engines)
            quantize_dynamic(source, target, weight_type=QuantType.QInt8, op_types_to_quantize=["LSTM", "MatMul"],
                             per_channel=True)
        finally:
            logging.disable(previous)
        return onnx.load(target)


def check_graph(data: bytes, what: str = "the ONNX file", inputs: Sequence[str] = INPUTS,
                outputs: Sequence[str] = OUTPUTS) -> Any:
    """The ``onnx.ModelProto`` in ``data`` once it is one this package writes: within the size limit, no external
    data, only :data:`ALLOWED_OPERATORS`, exactly ``inputs`` and ``outputs`` (default: those of :func:`lm_graph`);
    else OnnxModelError."""
    onnxruntime_module()  # a clear error when the extra is missing
    import onnx
    from google.protobuf.message import DecodeError

    if len(data) > MAX_GRAPH_BYTES:
        raise OnnxModelError(f"{what} is larger than {MAX_GRAPH_BYTES} bytes")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as err:
        raise OnnxModelError(f"{what} is not an ONNX model ({type(err).__name__}: {err})") from None
    graph = model.graph
    external = [t.name for t in graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise OnnxModelError(f"{what} keeps tensors in external files ({', '.join(external[:3])}): a model file "
                             "must hold its weights itself")
    for node in graph.node:
        if (node.domain, node.op_type) not in ALLOWED_OPERATORS:
            domain = f"{node.domain}." if node.domain else ""
            raise OnnxModelError(f"{what} uses operator {domain}{node.op_type}, which this package does not load "
                                 "(only the operators of an exported LM or tagger)")
        if any(attribute.type == onnx.AttributeProto.GRAPH for attribute in node.attribute):
            raise OnnxModelError(f"{what} has a sub-graph in {node.op_type}: not a graph this package writes")
    if model.functions:
        raise OnnxModelError(f"{what} defines functions: not a graph this package writes")
    found_inputs = tuple(i.name for i in graph.input if i.name not in {t.name for t in graph.initializer})
    found_outputs = tuple(o.name for o in graph.output)
    if found_inputs != tuple(inputs) or found_outputs != tuple(outputs):
        raise OnnxModelError(f"{what} has inputs {list(found_inputs)} and outputs {list(found_outputs)}; an exported "
                             f"graph of this kind has {list(inputs)} and {list(outputs)}")
    return model


@dataclass
class OnnxLM:
    """A character LM run by ONNX Runtime, with what :func:`~.lm_vectors.batch_states` reads off a Flair
    ``LanguageModel``: direction, start marker, dictionary, sizes, ``init_hidden`` and ``forward``; ``graph`` is the
    serialized ONNX model it runs (what ``export-onnx`` saves)."""

    session: Any
    dictionary: "Dictionary"
    is_forward_lm: bool
    hidden_size: int
    nlayers: int
    nout: Union[int, None] = None
    document_delimiter: str = "\n"
    graph: bytes = b""

    @property
    def device(self) -> "torch.device":
        import torch

        return torch.device("cpu")

    def init_hidden(self, batch: int) -> Tuple["torch.Tensor", "torch.Tensor"]:
        import torch

        return tuple(torch.zeros(self.nlayers, batch, self.hidden_size) for _ in range(2))  # type: ignore[return-value]

    def forward(self, chars: "torch.Tensor", hidden: Sequence["torch.Tensor"], decode: bool = False
                ) -> Tuple["torch.Tensor", Tuple["torch.Tensor", "torch.Tensor"]]:
        """The states at every character of ``chars`` ([characters, batch] ids) and the final states."""
        import torch

        if decode:
            raise ValueError("an ONNX character LM has no decoder: it computes states only")
        feed = {"chars": chars.cpu().numpy().astype(numpy.int64),
                "h0": hidden[0].float().cpu().numpy(), "c0": hidden[1].float().cpu().numpy()}
        states, h_n, c_n = self.session.run(list(OUTPUTS), feed)
        return torch.from_numpy(states), (torch.from_numpy(h_n), torch.from_numpy(c_n))


def graph_precision(model: Any) -> str:
    """"int8" when the graph ``model`` (an ``onnx.ModelProto``) has quantized operators, else "fp32"."""
    return "int8" if any(node.domain == "com.microsoft" or node.op_type == "MatMulInteger"
                         for node in model.graph.node) else "fp32"


def check_shapes(model: Any, expected: Dict[str, Sequence[Union[int, str]]], what: str) -> None:
    """OnnxModelError unless each named input/output of ``model`` has the fixed sizes in ``expected`` (a name's
    sizes by axis; a string stands for a free axis and is not compared)."""
    declared = {value.name: [dim.dim_value if dim.HasField("dim_value") else dim.dim_param
                             for dim in value.type.tensor_type.shape.dim]
                for value in [*model.graph.input, *model.graph.output]}
    for name, sizes in expected.items():
        found = declared.get(name, [])
        if len(found) != len(sizes) or any(isinstance(want, int) and got != want for got, want in zip(found, sizes)):
            raise OnnxModelError(f"{what} was made for another model: its {name!r} has sizes {found}, this model's "
                                 f"{[size if isinstance(size, int) else '*' for size in sizes]}; export it again")


def lm_shapes(lm_like: "LanguageModel") -> Dict[str, Sequence[Union[int, str]]]:
    """The sizes an LM graph of ``lm_like`` declares (see :func:`lm_graph`)."""
    layers, hidden = lm_like.nlayers, lm_like.hidden_size
    return {"h0": [layers, "batch", hidden], "c0": [layers, "batch", hidden],
            "states": ["characters", "batch", lm_like.nout or hidden]}


def onnx_lm(model: Any, lm_like: "LanguageModel", threads: int = 0, what: str = "the LM's ONNX graph") -> OnnxLM:
    """An :class:`OnnxLM` running ``model`` (an ``onnx.ModelProto`` or its bytes, checked first: operators, inputs,
    outputs and sizes), with the dictionary, direction and sizes of ``lm_like`` (the LM it was made from)."""
    onnxruntime = onnxruntime_module()

    data = model if isinstance(model, bytes) else model.SerializeToString()
    check_shapes(check_graph(data, what), lm_shapes(lm_like), what)
    session = inference_session(onnxruntime, data, threads)
    return OnnxLM(session, lm_like.dictionary, lm_like.is_forward_lm, lm_like.hidden_size, lm_like.nlayers,
                  lm_like.nout, getattr(lm_like, "document_delimiter", "\n"), data)


def onnx_copy(lm: "LanguageModel", int8: bool = False) -> OnnxLM:
    """``lm`` as an :class:`OnnxLM` (fp32 graph, or int8 weights), made in memory from its weights."""
    graph = lm_graph(lm)
    return onnx_lm(quantize_int8(graph) if int8 else graph, lm)


def onnx_lm_from(lm: "LanguageModel", precision: str, stored: Optional[bytes], what: str) -> OnnxLM:
    """``lm`` run by ONNX Runtime at ``precision`` ("fp32" or "int8"): from ``stored`` (a saved graph, checked
    against ``lm``) when it has that precision, else made from the weights, with a warning when a stored graph of
    another precision is passed over."""
    if stored:
        model = check_graph(stored, what)
        if graph_precision(model) == precision:
            return onnx_lm(stored, lm, what=what)
        warnings.warn(f"{what} is {graph_precision(model)} but precision {precision!r} is configured: making a "
                      f"{precision} graph from the weights instead (export the pipeline again to store it)", stacklevel=3)
    return onnx_copy(lm, int8=precision == "int8")
