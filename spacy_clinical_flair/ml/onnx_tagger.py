"""A Flair SequenceTagger's network after its embeddings as an ONNX graph: reprojection, BiLSTM, emission layer.

:func:`tagger_graph` writes, operator by operator like :func:`~.onnx_lm.lm_graph`, what ``SequenceTagger.forward``
computes in eval mode from the padded token vectors: the optional ``embedding2nn`` reprojection, the bidirectional
LSTM layers (ONNX ``LSTM`` with ``sequence_lens``, which reads each sentence only to its length as PyTorch's packed
sequence does) and the ``linear`` emission layer. The CRF is not in the graph: its transitions stay data, and the
decoding (Viterbi, spans, offsets) is the one :class:`~spacy_clinical_flair.pipeline.fast_tagger.FastTagger` uses
with PyTorch, so the entities come out of the same code. :class:`OnnxTaggerNetwork` runs the graph.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import numpy

from .onnx_lm import OPSET, _array, _lstm_weights

if TYPE_CHECKING:
    import torch
    from flair.models import SequenceTagger

TAGGER_INPUTS = ("vectors", "lengths")
TAGGER_OUTPUTS = ("emissions",)


def tagger_graph(tagger: "SequenceTagger") -> Any:
    """The ONNX graph (``onnx.ModelProto``) from padded token vectors ``[batch, tokens, width]`` and sentence
    lengths ``[batch]`` (int32) to emission scores ``[batch, tokens, tags]``, weights in float32."""
    from onnx import TensorProto, helper, numpy_helper

    weights: Dict[str, numpy.ndarray] = {}
    nodes: List[Any] = []
    current = "vectors"
    if tagger.reproject_embeddings:
        weights.update(reproject_w=_array(tagger.embedding2nn.weight).T.copy(),
                       reproject_b=_array(tagger.embedding2nn.bias))
        nodes += [helper.make_node("MatMul", [current, "reproject_w"], ["reprojected_mm"]),
                  helper.make_node("Add", ["reprojected_mm", "reproject_b"], ["reprojected"])]
        current = "reprojected"
    nodes.append(helper.make_node("Transpose", [current], ["time_major"], perm=[1, 0, 2]))
    current = "time_major"
    if tagger.use_rnn:
        rnn: Any = tagger.rnn
        if type(rnn).__name__ != "LSTM" or not rnn.bidirectional:
            raise ValueError("only bidirectional LSTM taggers can be written as ONNX")
        nodes.append(helper.make_node("Cast", ["lengths"], ["sequence_lens"], to=TensorProto.INT32))
        weights["flat_shape"] = numpy.array([0, 0, -1], dtype=numpy.int64)
        for layer in range(rnn.num_layers):
            forward, backward = _lstm_weights(rnn, layer), _lstm_weights(rnn, layer, "_reverse")
            for key in ("W", "R", "B"):
                weights[f"rnn_{key}{layer}"] = numpy.concatenate([forward[f"{key}{layer}"], backward[f"{key}{layer}"]])
            nodes += [
                helper.make_node("LSTM", [current, f"rnn_W{layer}", f"rnn_R{layer}", f"rnn_B{layer}", "sequence_lens"],
                                 [f"rnn_y{layer}"], hidden_size=rnn.hidden_size, direction="bidirectional"),
                # [time, 2, batch, hidden] -> [time, batch, 2 * hidden]: forward then backward, as PyTorch
                helper.make_node("Transpose", [f"rnn_y{layer}"], [f"rnn_t{layer}"], perm=[0, 2, 1, 3]),
                helper.make_node("Reshape", [f"rnn_t{layer}", "flat_shape"], [f"rnn_out{layer}"]),
            ]
            current = f"rnn_out{layer}"
    weights.update(linear_w=_array(tagger.linear.weight).T.copy(), linear_b=_array(tagger.linear.bias))
    nodes += [helper.make_node("MatMul", [current, "linear_w"], ["scores_mm"]),
              helper.make_node("Add", ["scores_mm", "linear_b"], ["scores"]),
              helper.make_node("Transpose", ["scores"], ["emissions"], perm=[1, 0, 2])]
    width = tagger.embeddings.embedding_length
    graph = helper.make_graph(
        nodes, "clinical_flair_tagger",
        inputs=[helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["batch", "tokens", width]),
                helper.make_tensor_value_info("lengths", TensorProto.INT32, ["batch"])],
        outputs=[helper.make_tensor_value_info("emissions", TensorProto.FLOAT,
                                               ["batch", "tokens", len(tagger.label_dictionary)])],
        initializer=[numpy_helper.from_array(value, name) for name, value in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="spacy-clinical-flair")
    model.ir_version = 8
    return model


@dataclass
class TaggerGraphs:
    """The ONNX graphs of one tagger, as saved: its character LMs (in the order of the tagger's LM embeddings sorted
    by name, as Flair concatenates them) and its network."""

    lms: List[bytes]
    network: bytes
    #: where they were read from (for errors), e.g. "FOLDER/model.*.onnx"
    source: str = ""


@dataclass
class OnnxTaggerNetwork:
    """The tagger's network run by ONNX Runtime: :meth:`emissions` of padded vectors (longest sentence first);
    ``graph`` is the serialized ONNX model it runs (what ``export-onnx`` saves)."""

    session: Any
    graph: bytes = b""

    def emissions(self, vectors: "torch.Tensor", lengths: List[int]) -> "torch.Tensor":
        import torch

        feed = {"vectors": vectors.float().cpu().numpy(), "lengths": numpy.asarray(lengths, dtype=numpy.int32)}
        (emissions,) = self.session.run(list(TAGGER_OUTPUTS), feed)
        return torch.from_numpy(emissions)


def onnx_tagger_network(tagger: "SequenceTagger", int8: bool = False, threads: int = 0,
                        stored: Optional[bytes] = None, what: str = "the tagger's ONNX graph") -> OnnxTaggerNetwork:
    """``tagger``'s network as an :class:`OnnxTaggerNetwork`: ``stored`` (a saved graph, checked: operators, inputs,
    outputs, sizes) when it has the precision asked for, else a graph made from the weights (fp32, or int8 LSTM and
    linear weights)."""
    from .onnx_lm import check_graph, check_shapes, graph_precision, inference_session, onnxruntime_module, quantize_int8

    onnxruntime = onnxruntime_module()

    precision = "int8" if int8 else "fp32"
    data = stored if stored and graph_precision(check_graph(stored, what, TAGGER_INPUTS, TAGGER_OUTPUTS)) == precision \
        else None
    if stored and data is None:
        warnings.warn(f"{what} does not have precision {precision!r}: making a {precision} graph from the weights "
                      "instead (export the pipeline again to store it)", stacklevel=2)
    if data is None:
        graph = tagger_graph(tagger)
        data = (quantize_int8(graph) if int8 else graph).SerializeToString()
    model = check_graph(data, what, TAGGER_INPUTS, TAGGER_OUTPUTS)
    check_shapes(model, {"vectors": ["batch", "tokens", tagger.embeddings.embedding_length],
                         "emissions": ["batch", "tokens", len(tagger.label_dictionary)]}, what)
    return OnnxTaggerNetwork(inference_session(onnxruntime, data, threads), data)
