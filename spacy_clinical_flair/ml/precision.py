"""Numeric precision of the character LMs at prediction time: float32, or bfloat16 where the hardware has it.

The character LMs do nearly all of the arithmetic of both the ``clinical_flair_ner`` tagger and the Flair
vectors layer. ``"bf16"`` runs them on a bfloat16 copy of their weights made at load time; everything
after them (the tagger's BiLSTM and CRF, spaCy's layers) stays float32, and so do the saved weights.
bfloat16 pays only with hardware support (AVX-512 BF16 or AMX on a CPU, compute capability 8.0+ on a
GPU); elsewhere it is emulated and slower than float32, so the choice falls back to fp32 with a warning.
"""
from __future__ import annotations

import copy
import warnings
from typing import TYPE_CHECKING, Literal, Optional, Tuple, cast

if TYPE_CHECKING:
    import torch
    from flair.models import LanguageModel

Precision = Literal["fp32", "bf16"]
PRECISIONS: Tuple[str, ...] = ("fp32", "bf16")


def check_precision(precision: str) -> str:
    """``precision`` itself when it is one of :data:`PRECISIONS`, else an error that lists them."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (the saved weights stay fp32), "
                         f"got {precision!r}")
    return precision


def bf16_supported(device: "torch.device") -> bool:
    """Whether ``device`` has bfloat16 arithmetic in hardware (CPU: AVX-512 BF16 or AMX; CUDA: compute
    capability 8.0+). Elsewhere bfloat16 is emulated and slower than float32."""
    import torch

    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if check is not None)


def effective_precision(precision: str, device: Optional["torch.device"], owner: str) -> Precision:
    """The precision to run at on ``device``: ``precision``, or fp32 with a warning (naming ``owner``) where
    bfloat16 is asked for and the hardware lacks it."""
    import torch

    check_precision(precision)
    device = device if device is not None else torch.device("cpu")
    if precision == "bf16" and not bf16_supported(device):
        warnings.warn(f"{owner}: precision 'bf16' asked for, but this {device.type.upper()} has no bfloat16 "
                      "arithmetic (needs AVX-512 BF16 or AMX on a CPU, compute capability 8.0+ on a GPU), where it "
                      "would be slower than fp32; predicting in fp32", stacklevel=3)
        return "fp32"
    return cast(Precision, precision)


def lm_at_precision(lm: "LanguageModel", precision: str) -> "LanguageModel":
    """``lm`` itself for fp32; a bfloat16 copy for bf16 (its initial states follow the weights' type)."""
    import torch

    if check_precision(precision) == "fp32":
        return lm
    clone = copy.deepcopy(lm)
    clone.to(torch.bfloat16)  # (LanguageModel.to returns None)
    return clone


#: What computes the character LMs (and the tagger's network) at prediction: PyTorch, or ONNX Runtime on the CPU.
ENGINES: Tuple[str, ...] = ("torch", "onnx")
Engine = Literal["torch", "onnx"]
#: A precision some engine runs: "fp32" and "bf16" (torch), "fp32" and "int8" (onnx); :func:`check_engine` pairs them.
EnginePrecision = Literal["fp32", "bf16", "int8"]


def check_engine(engine: str, precision: str) -> str:
    """``engine`` itself when it is one of :data:`ENGINES` and runs ``precision`` (torch: "fp32", "bf16"; onnx:
    "fp32", "int8"); else an error saying why."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "onnx" and precision not in ("fp32", "int8"):
        raise ValueError(f"the onnx engine runs precision 'fp32' or 'int8', not {precision!r} (bf16 is torch's)")
    if engine == "torch" and precision == "int8":
        raise ValueError("precision 'int8' needs engine 'onnx' (pip install 'spacy-clinical-flair[onnx]')")
    if engine == "torch":
        check_precision(precision)
    return engine
