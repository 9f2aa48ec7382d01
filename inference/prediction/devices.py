"""Which device a run uses, decided once and said in words.

An explicit choice that is not there is an error, never a silent fallback: users want to
know what ran (the dock and the records say it).
"""

from __future__ import annotations

import torch


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then CPU; 'gpu' the same without the CPU; an
    explicit choice that is not there is an error rather than a silent fallback (users
    want to know what ran)."""
    device = (device or "auto").lower()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if device in ("auto", "gpu"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps:
            return torch.device("mps")
        if device == "auto":
            return torch.device("cpu")
        raise RuntimeError("a GPU was asked for, but this PyTorch sees neither a CUDA GPU nor "
                           f"Apple MPS (torch {torch.__version__}); choose CPU or auto")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' asked for, but this PyTorch has no usable CUDA GPU "
                           f"(torch {torch.__version__}); choose CPU or auto")
    if device == "mps" and not mps:
        raise RuntimeError("device 'mps' asked for, but Apple MPS is not available here")
    return torch.device(device)


def device_label(device: torch.device) -> str:
    """``cuda (NVIDIA ...)``, ``mps`` or ``cpu``: what the records and the dock name."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
