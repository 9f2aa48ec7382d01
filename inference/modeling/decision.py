"""Which cell the point goes to: the paper's most probable cell, or the most probable
neighbourhood.

The paper writes the argmax of the finest-cell probabilities.  With a weak model that is
a poor bet: its top cell holds a few percent of the mass, and a cluster of nearby cells
with more mass together is a better answer for "within 750 km".  The Bayes decision for
accuracy within r km is the cell c maximising sum_c' p(c') [d(c, c') <= r]: the centre
of the densest r-neighbourhood (beyond the paper, written down in the method notes).
A bundle carries its radius (``decision.radius_km``, 0 = the paper's argmax), chosen on
its validation split by the mean GeoGuessr-style score, which weighs every distance.
The reported confidence is the probability of the cell the point is in, whichever rule
chose it, so "30 %" still means "30 % that the photo was taken in this cell".
"""

from __future__ import annotations

import numpy as np
import torch

from ..geo import haversine_km

RADII_KM = (0.0, 200.0, 750.0, 2500.0)  # the ones validation chooses from
TIE = 1e-5  # float32 sums of masses near one: closer than this is a tie


def neighbourhood(coords: np.ndarray, radius_km: float) -> torch.Tensor:
    """(C, C) float 0/1: cell centres within ``radius_km`` of each other."""
    c = np.asarray(coords, dtype=np.float64)
    rows = [haversine_km(c[i:i + 512, None, 0], c[i:i + 512, None, 1], c[None, :, 0],
                         c[None, :, 1]) <= radius_km for i in range(0, len(c), 512)]
    return torch.as_tensor(np.concatenate(rows).astype(np.float32))


def choose_cells(probs: torch.Tensor, near: torch.Tensor = None,
                 allowed: torch.Tensor = None) -> torch.Tensor:
    """(B,) chosen finest cell per row of ``probs`` (B, C): argmax, or with ``near`` the
    centre of the most probable neighbourhood.  ``allowed`` (C,) bool keeps the choice
    among the cells a constraint left (a neighbourhood reaches past a border, its
    centre must not)."""
    if near is None:
        return probs.argmax(dim=1)
    scores = probs.float() @ near.to(probs.device)
    if allowed is not None:
        scores = scores.masked_fill(~allowed.to(probs.device), -1.0)
    # neighbourhoods that hold the same mass (all of it, when a constraint leaves a few
    # cells closer than the radius) tie: the most probable cell among them wins, not
    # the first index
    best = scores.max(dim=1, keepdim=True).values
    tied = scores >= best - TIE * best.abs().clamp(min=1.0)
    return torch.where(tied, probs.float(), torch.full_like(scores, -1.0)).argmax(dim=1)
