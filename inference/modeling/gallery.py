"""Retrieval inside the predicted cell: a point better than the cell's mean coordinate.

Beyond the paper (PIGEON and G3 refine their cell predictions the same way).  A cell
of a few hundred kilometres has one mean coordinate, so a right cell still leaves the
point far from the photo's place.  The bundle may carry the training photos' pooled
backbone features (float16, L2-normalised) and coordinates, never the photos; the point
written for a photo becomes the location of its most similar training photos *inside
its predicted finest cell* (the similarity-weighted geodesic medoid of the ``k`` nearest,
as the kNN baseline picks).  The cell, its probability and the regions are unchanged:
retrieval moves the point within the cell the model chose, nothing else.  A cell with no
training photo keeps its mean coordinate.

Kept in a bundle only where its validation table shows it helps at 1 and 25 km, and
switchable at prediction time (``predict --retrieval off``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..geo import medoid

GALLERY_FILE = "gallery.safetensors"


@dataclass
class Gallery:
    features: torch.Tensor  # (N, C) float16, L2-normalised pooled backbone features
    coords: np.ndarray  # (N, 2) float64 lat, lon
    cells: np.ndarray  # (N,) finest cell index of each photo, -1 outside every cell
    k: int = 5

    def __post_init__(self):
        order = np.argsort(self.cells, kind="stable")
        self._order = order
        self._starts = np.searchsorted(self.cells[order], np.arange(self.cells.max(initial=-1)
                                                                    + 2))

    def __len__(self) -> int:
        return len(self.coords)

    @classmethod
    def build(cls, pooled: np.ndarray, coords: np.ndarray, cells, k: int = 5) -> Gallery:
        """From training photos: pooled features (N, C), lat/lon (N, 2), the hierarchy."""
        coords = np.asarray(coords, dtype=np.float64)
        finest = cells.assign(coords[:, 0], coords[:, 1])[:, -1]
        feats = torch.nn.functional.normalize(torch.as_tensor(pooled).float(), dim=1)
        return cls(feats.to(torch.float16), coords, finest.astype(np.int64), int(k))

    def members(self, cell: int) -> np.ndarray:
        """Row indices of the gallery photos in finest cell ``cell``."""
        if cell < 0 or cell + 1 >= len(self._starts):
            return np.zeros(0, dtype=np.int64)
        return self._order[self._starts[cell]:self._starts[cell + 1]]

    def refine(self, cell: int, pooled: torch.Tensor) -> Optional[np.ndarray]:
        """(lat, lon) for a photo with pooled feature ``pooled`` (C,) predicted in ``cell``;
        None when the cell holds no gallery photo."""
        rows = self.members(int(cell))
        if len(rows) == 0:
            return None
        q = torch.nn.functional.normalize(pooled.float().reshape(1, -1), dim=1)
        sims = (self.features[torch.as_tensor(rows)].float() @ q.T).squeeze(1)
        k = min(self.k, len(rows))
        top_s, top_i = sims.topk(k)
        return medoid(self.coords[rows[top_i.numpy()]], np.clip(top_s.numpy(), 1e-6, None))

    # -- files
    def save(self, folder) -> Path:
        from safetensors.torch import save_file

        path = Path(folder) / GALLERY_FILE
        save_file({"features": self.features.contiguous(),
                   "coords": torch.as_tensor(self.coords, dtype=torch.float64),
                   "cells": torch.as_tensor(self.cells, dtype=torch.int64)},
                  str(path), metadata={"k": str(self.k)})
        return path

    @classmethod
    def load(cls, path) -> Gallery:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            k = int((fh.metadata() or {}).get("k", 5))
            feats = fh.get_tensor("features")
            coords = fh.get_tensor("coords").numpy()
            cells = fh.get_tensor("cells").numpy()
        if not (len(feats) == len(coords) == len(cells)) or coords.shape[1:] != (2,):
            raise ValueError(f"{path}: features, coords and cells disagree in length")
        return cls(feats, coords, cells, k)
