"""The model's numbers for one photo, made into the ``Prediction`` record every writer reads.

What a record keeps is what a reader can check: the point and its cell's probability,
the top-k candidates by probability, the best cell and the top cells of every level,
and the finest cells by density up to 99 % of the mass (modeling/credible.py: every
credible region is a prefix of them), so the whole distribution need not be kept for
every photo.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..geo import haversine_km
from ..modeling.cells import CellHierarchy
from ..records import Candidate, CellProbability, Prediction
from .photos import PhotoInfo

FINEST_MASS = 0.99  # keep finest cells (by density) until this much probability is covered
FINEST_CAP = 500
LEVEL_TOP = 5


class RecordMaker:
    def __init__(self, cells: CellHierarchy, scene_names: Sequence[str]):
        self.cells = cells
        self.coords = cells.finest_coords()
        self.scene_names = list(scene_names)

    def make(self, best: int, best_p: float, info: PhotoInfo, top, ranked, marg, scene,
             scene_conf, attention, point) -> Prediction:
        """One photo's record.  ``best``/``best_p``: the cell the point goes to and its
        probability; ``top``: (probabilities, indices) of the most probable finest
        cells, the candidates; ``ranked``: all finest cells by density, of which
        ``finest`` keeps the first FINEST_MASS; ``marg``: per level, every cell's
        probability; ``point``: the retrieval point, or None for the cell's mean."""
        cells = self.cells
        n_levels = cells.num_levels
        lat, lon = self.coords[best] if point is None else point
        cands = tuple(Candidate(r + 1, float(self.coords[c][0]), float(self.coords[c][1]),
                                float(p), cells.cell(n_levels - 1, int(c)).token)
                      for r, (p, c) in enumerate(zip(*top)))
        best_cells = tuple(
            CellProbability(h, int(cells.parents[best, h]),
                            cells.cell(h, int(cells.parents[best, h])).token,
                            float(marg[h][cells.parents[best, h]]))
            for h in range(n_levels))
        level_top = []
        for h in range(n_levels):
            top = np.argsort(-marg[h])[:LEVEL_TOP]
            level_top.append(tuple(CellProbability(h, int(c), cells.cell(h, int(c)).token,
                                                   float(marg[h][c])) for c in top))
        rp, ri = ranked
        k = min(int(np.searchsorted(np.cumsum(rp), FINEST_MASS)) + 1, FINEST_CAP)
        finest = tuple(CellProbability(n_levels - 1, int(c), cells.cell(n_levels - 1, int(c)).token,
                                       float(p)) for c, p in zip(ri[:k], rp[:k]))
        err = None
        if info.exif_gps is not None:
            err = haversine_km(info.exif_gps.lat, info.exif_gps.lon, float(lat), float(lon))
        names = self.scene_names
        return Prediction(
            path=info.path, lat=float(lat), lon=float(lon), confidence=best_p,
            candidates=cands, best_cells=best_cells, level_top=tuple(level_top), finest=finest,
            scene=scene, scene_name=names[scene] if scene < len(names) else f"scene {scene}",
            scene_confidence=scene_conf, exif_gps=info.exif_gps, error_km=err,
            width=info.width, height=info.height, sha256=info.sha256, attention=attention)


def attention_grid(attn: np.ndarray, grid) -> np.ndarray:
    """(B, H, T) attention over tokens -> (B, H, rows, cols) over the spatial tokens only
    (the last rows*cols; a leading CLS token is dropped), each map summing to one."""
    rows, cols = grid
    maps = attn[..., attn.shape[-1] - rows * cols:].reshape(attn.shape[:-1] + (rows, cols))
    return maps / np.maximum(maps.sum(axis=(-2, -1), keepdims=True), 1e-12)
