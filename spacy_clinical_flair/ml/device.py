"""Choosing the torch device for the tagger, in agreement with spaCy/thinc's GPU selection."""
from __future__ import annotations


def resolve_device(device: str):
    """Turn the config value into a ``torch.device``.

    ``"auto"``: where thinc runs (``thinc.api.get_torch_default_device``: the GPU after
    ``spacy.require_gpu()`` / ``--gpu-id``, else the CPU). ``"cpu"``, ``"cuda"``, ``"cuda:N"``: as asked;
    asking for CUDA where torch has none is an error that says so.
    """
    import torch
    from thinc.api import get_torch_default_device

    name = (device or "auto").strip().lower()
    if name == "auto":
        return get_torch_default_device()
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
