"""The clues applied to the model's answer (constraints/ says what a clue is).

The model's finest-cell probabilities are multiplied by each cell's weight (its share
where every clue holds) and renormalised in log space, so a photo whose allowed cells the
model thinks unlikely still gets probabilities that sum to one.  What a reader needs to
judge the result is kept beside it: the mass the clues took away and the answer the
model gave without them (by the same decision rule).  Nothing a clue rules out is left
in the record: no zero-probability candidate or cell, and every point moved inside
where the clues hold (weights.py).  The record keeps each finest cell's allowed share
and the geometry where the clues hold, so that its credible regions are the allowed part
of their cells (outputs/regions.py), ranked by density on the allowed area
(``ranking_areas``).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np
import torch

from ..constraints.base import Constraints
from ..geo import haversine_km
from ..modeling.cells import CellHierarchy
from ..modeling.credible import allowed_areas
from ..modeling.decision import choose_cells
from ..records import Candidate, Prediction


class AppliedClues:
    def __init__(self, constraints: Constraints, cells: CellHierarchy, device: torch.device):
        """Raises ConstraintError when the clues leave no cell (before any output)."""
        from ..constraints.weights import cell_weights  # shapely, GDAL: only with clues

        self.constraints = constraints
        self.cells = cells
        self.coords = cells.finest_coords()
        tokens = cells.finest_tokens()
        self.weights = cell_weights(constraints, tokens)
        w = torch.as_tensor(self.weights.weights, dtype=torch.float32)
        self.log_weights = torch.log(w).to(device)  # -inf: ruled out
        self.allowed = (w > 0).to(device)
        self._index = {t: i for i, t in enumerate(tokens)}

    def allowed_part(self, index: int):
        """The part of finest cell `index` where every clue holds (shapely)."""
        return self.weights.allowed_part(index)

    def reweight(self, log_p: torch.Tensor, probs: torch.Tensor, near):
        """(probabilities under the clues, mass removed per photo, the unconstrained
        answer as (probabilities, cell indices)), as NumPy where they leave the device."""
        kept = (probs * self.log_weights.exp()).sum(dim=1)
        removed = (1.0 - kept).clamp(0.0, 1.0).cpu().numpy()
        before_i = choose_cells(probs, near)  # the same decision rule, not the argmax
        before_p = probs.gather(1, before_i[:, None]).squeeze(1)
        before = (before_p.cpu().numpy(), before_i.cpu().numpy())
        return torch.softmax(log_p.float() + self.log_weights, dim=1), removed, before

    def constrain(self, pred: Prediction, removed: float, top_p: float, top: int) -> Prediction:
        """The clues' effect on one record: what they took away, what the model said
        before, and nothing they ruled out (no zero-probability candidate or cell, every
        point inside what is allowed)."""
        cells, place, shares = self.cells, self.weights.place_point, self.weights.weights

        lat, lon = place(pred.best_cells[-1].index, pred.lat, pred.lon)
        cands = tuple(dataclasses.replace(c, lat=p[0], lon=p[1]) for c, p in (
            (c, place(self._index[c.cell_token], c.lat, c.lon))
            for c in pred.candidates if c.probability > 0))
        before = Candidate(1, float(self.coords[top][0]), float(self.coords[top][1]), top_p,
                           cells.cell(cells.num_levels - 1, top).token)
        return dataclasses.replace(
            pred, lat=lat, lon=lon, candidates=cands,
            level_top=tuple(tuple(c for c in lv if c.probability > 0) for lv in pred.level_top),
            finest=tuple(dataclasses.replace(c, allowed_share=float(shares[c.index]))
                         for c in pred.finest if c.probability > 0),
            allowed=self.weights.allowed, mass_removed=removed, unconstrained_top=before,
            error_km=None if pred.exif_gps is None else haversine_km(
                pred.exif_gps.lat, pred.exif_gps.lon, lat, lon))


def ranking_areas(clues: Optional[AppliedClues], areas: np.ndarray) -> np.ndarray:
    """The finest cells' areas (by class index) both predictors' density ranking divides
    by: the whole areas without clues, each cell's allowed area under them."""
    return areas if clues is None else allowed_areas(areas, clues.weights.weights)
