"""What a reader needs beside the point: why it is there, and where the 50 % region is.

The point alone misleads with a weak model (a point in Oregon at 0.2 % for a photo taken
in Tallinn).  Two facts make it readable, recorded per photo so that every reader (the
dock, the case report, the exports) says the same:

* the decision rule that put it there: the centre of the most probable neighbourhood of
  ``decision_radius_km`` (modeling/decision.py), with the probability inside it
  (``decision_mass``); with radius 0 the most probable cell and its probability;
* the countries and continents the 50 % credible region covers (its cells are the
  leading cells of ``Prediction.finest``, which keeps them by density: the very cells
  the regions layer draws); under clues only the parts of them where the clues hold.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np

from ..modeling.credible import credible_prefix
from ..records import Prediction

REGION_MASS = 0.5  # the region a headline names: the regions layer's smaller one


def with_context(pred: Prediction, radius_km: float, mass: Optional[float],
                 cell_areas: np.ndarray,
                 allowed_part: Optional[Callable[[int], object]] = None) -> Prediction:
    """`pred` with its decision rule and its 50 % region's places.  ``mass``: the
    probability within ``radius_km`` of the chosen cell (None with radius 0: the
    cell's own probability, the confidence); ``cell_areas``: the finest cells' geodesic
    areas by class index; ``allowed_part``: under clues, finest cell index -> the part of
    the cell where the clues hold, so that a cell the clues cut counts only that part
    (its area: the cell's times its ``allowed_share``)."""
    # here, not at the top: shapely and the boundaries come with the first record, not
    # with the import of the predictor (start-up, docs/SPEED.md)
    from ..constraints.region_countries import region_places

    finest = pred.finest
    n = credible_prefix([c.probability for c in finest], REGION_MASS) if finest else 0
    cells = finest[:n]
    parts = {c.token: allowed_part(c.index) for c in cells
             if allowed_part is not None and c.allowed_share < 1.0}
    places = region_places([c.token for c in cells],
                           [float(cell_areas[c.index]) * c.allowed_share for c in cells],
                           parts)
    return dataclasses.replace(
        pred, region50_places=places, decision_radius_km=float(radius_km),
        decision_mass=float(pred.confidence if mass is None else mass))
