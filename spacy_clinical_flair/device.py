"""Choosing the torch device for the tagger, in agreement with spaCy/thinc's GPU selection."""
from __future__ import annotations

from typing import Optional


def thinc_gpu_id() -> Optional[int]:
    """The GPU that spaCy/thinc was told to use (``spacy.require_gpu()``, ``--gpu-id``), or None."""
    try:
        from thinc.api import get_current_ops

        if type(get_current_ops()).__name__ != "CupyOps":
            return None
        import cupy

        return int(cupy.cuda.runtime.getDevice())
    except Exception:  # thinc without cupy, or cupy without a device
        return None


def resolve_device(device: str):
    """Turn the config value into a ``torch.device``.

    ``"auto"``: the GPU spaCy/thinc selected, else the CPU. ``"cpu"``, ``"cuda"``, ``"cuda:N"``: as
    asked; asking for CUDA where torch has none is an error that says so.
    """
    import torch

    name = (device or "auto").strip().lower()
    if name == "auto":
        gpu = thinc_gpu_id()
        name = f"cuda:{gpu}" if gpu is not None and torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} asks for CUDA, but this torch ({torch.__version__}) sees no CUDA GPU; "
                             "use device 'cpu' or 'auto', or install a CUDA build of torch")
        index = torch.device(name).index or 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: there are only {torch.cuda.device_count()} CUDA devices")
    elif name != "cpu":
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return torch.device(name)
