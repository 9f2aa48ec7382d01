"""A photo as the model sees it: decoded, shorter side scaled, cropped, floats in [0, 1].

One definition for prediction and training: the training cache stores tokens of photos
prepared here, so cached tokens are the inference tokens.  A photo that cannot be read
becomes a PhotoFailure, never an exception that stops a batch.
"""

from __future__ import annotations

import logging
from typing import Tuple, Union

import numpy as np
import torch

from ..records import PhotoFailure
from .photos import PhotoError, PhotoInfo, read_photo

log = logging.getLogger(__name__)


def _unit_float(arr: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float (3, H, W) in [0, 1], converted by NumPy: the same numbers
    as torch's ``.float().div_(255)`` (tested), but in the calling thread.  Photos decode
    in worker threads, and a torch operation there starts OpenMP threads of its own that
    spin for the two cores the run needs (measured: ~0.008 core-s per photo)."""
    return torch.from_numpy(np.ascontiguousarray(arr).astype(np.float32)
                            / np.float32(255.0)).permute(2, 0, 1)


def center_crop_tensor(image, size: int) -> torch.Tensor:
    """PIL image whose shorter side is `size` -> (3, size, size) float tensor in [0, 1]."""
    arr = np.array(image, dtype=np.uint8)
    h, w = arr.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return _unit_float(arr[top:top + size, left:left + size])


def ten_crop_tensor(image, size: int) -> torch.Tensor:
    """Four corners + centre of a `size` crop, and their mirror images: (10, 3, size, size)."""
    arr = _unit_float(np.array(image, dtype=np.uint8))
    _, h, w = arr.shape
    offs = [(0, 0), (0, w - size), (h - size, 0), (h - size, w - size),
            ((h - size) // 2, (w - size) // 2)]
    crops = [arr[:, t:t + size, left:left + size] for t, left in offs]
    crops += [c.flip(-1) for c in crops]
    return torch.stack(crops)


def decode_for_model(path: str, size: int, ten_crop: bool = False
                     ) -> Union[Tuple[torch.Tensor, PhotoInfo], PhotoFailure]:
    """A photo as the model sees it: shorter side to ``size``, centre crop (or the ten
    crops), float in [0, 1]; a PhotoFailure instead of an exception.  Training caches
    features through the same function, so cached tokens are the inference tokens."""
    try:
        if ten_crop:  # the classic protocol: shorter side 256 for 224 crops
            image, info = read_photo(path, int(round(size * 256 / 224)))
            return ten_crop_tensor(image, size), info
        image, info = read_photo(path, size)
        return center_crop_tensor(image, size), info
    except PhotoError as exc:
        return PhotoFailure(str(path), str(exc))
    except Exception as exc:  # noqa: BLE001 - one photo never stops the batch
        log.exception("unexpected error decoding %s", path)
        return PhotoFailure(str(path), f"unexpected error: {type(exc).__name__}: {exc}")
