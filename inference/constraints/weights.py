"""Constraints -> one weight per finest cell, and points moved into what is allowed.

A cell's weight is the probability that a photo taken somewhere in the cell (evenly
spread over it, all the model can say inside a cell) satisfies every constraint at once:
the geodesic share of the cell inside the *joint* region, which is every include area
intersected, minus every exclude area, intersected with the sun's band when there is a
sun clue (``sun.sun_band``).  One exact geometry for all the clues: a cell whose area
part and band part do not overlap gets 0, not the product of two shares (issue 19: that
product kept weight where no place satisfies both, the "nothing left" refusal did not
fire, and points landed outside the clue).  The sun's share is measured on the same band
the run draws and the points go into (0.5-degree grid squares: ~40 km at its edges,
inside a 2-degree tolerance's ~220 km either side).

The prediction multiplies the model's finest-cell probabilities by these weights and
renormalises (Bayes with the constraint as the likelihood); every level's marginal,
the candidates, the surface and the credible regions follow from that.  A point (a
cell's mean training coordinate or the retrieval point) that falls outside the joint
region is moved to the nearest place inside the joint part of its cell, so no point or
candidate lies where a clue rules it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import shapely
from shapely.geometry import Point, box
from shapely.ops import nearest_points, unary_union

from ..modeling.cell_geometry import cell_polygon
from ..geo import geodesic_area_km2
from .areas import polygons_of
from .base import ConstraintError, Constraints
from .sun import sun_band

WORLD = box(-180.0, -90.0, 180.0, 90.0)
INSETS_DEG = (0.05, 0.005)  # a moved point goes about 5 km (else 500 m) inside the
# allowed part: the borders are simplified by a few km, and a point on one would read
# as the neighbour's (its place name is the nearest town)


@dataclass
class CellWeights:
    """Weights of the finest cells (``weights[i]`` for finest cell i, in [0, 1])."""

    constraints: Constraints
    tokens: Sequence[str]
    weights: np.ndarray
    allowed: Optional[object] = None  # shapely geometry where every clue holds (the
    # areas within the sun's band): where points may lie; None: no constraint
    _parts: dict = field(default_factory=dict, repr=False)  # cell index -> allowed part

    def place_point(self, index: int, lat: float, lon: float) -> tuple[float, float]:
        """(lat, lon) unchanged when allowed, else the nearest place a little inside the
        allowed part of cell `index` (of the whole allowed region when the cell has no
        part of it, which a cell of weight 0 has: a point never lies outside)."""
        if self.allowed is None or self.allowed.covers(Point(lon, lat)):
            return lat, lon
        part = self.allowed_part(index)
        if part.is_empty:
            part = self.allowed
        for inset in INSETS_DEG:
            inner = part.buffer(-inset)
            if not inner.is_empty:
                p = nearest_points(inner, Point(lon, lat))[0]
                return float(p.y), float(p.x)
        p = part.representative_point()
        return float(p.y), float(p.x)

    def allowed_part(self, index: int):
        """The part of finest cell `index` (as ``cell_polygon`` draws it) where every
        clue holds; measured once per cell."""
        part = self._parts.get(index)
        if part is None:
            part = _allowed_part(cell_polygon(self.tokens[index]), self.allowed)
            self._parts[index] = part
        return part


def allowed_region(constraints: Constraints):
    """Includes intersected, excludes subtracted; None without any area constraint."""
    if not constraints.areas:
        return None
    region = WORLD
    for area in constraints.areas:
        if area.include:
            region = region.intersection(area.geometry)
    excluded = [a.geometry for a in constraints.areas if not a.include]
    if excluded:
        region = region.difference(unary_union(excluded))
    parts = polygons_of(region)
    return unary_union(parts) if parts else shapely.geometry.Polygon()


def area_shares(region, tokens: Sequence[str], parts: Optional[dict] = None) -> np.ndarray:
    """Per cell token, the geodesic share of the cell inside `region`."""
    out = np.zeros(len(tokens))
    if region is None or region.is_empty:
        return out
    shapely.prepare(region)
    for i, token in enumerate(tokens):
        cell = cell_polygon(token)
        if not region.intersects(cell):
            continue
        if region.contains(cell):
            out[i] = 1.0
            continue
        part = _allowed_part(cell, region)
        if parts is not None:
            parts[i] = part
        whole = geodesic_area_km2(cell)
        out[i] = min(1.0, geodesic_area_km2(part) / whole) if whole > 0 else 0.0
    return out


def _allowed_part(cell, region):
    # clipping a country to the cell's box first is far cheaper than intersecting the
    # whole (Multi)Polygon with every border cell
    local = shapely.clip_by_rect(region, *cell.bounds)
    parts = polygons_of(cell.intersection(local))
    return unary_union(parts) if parts else shapely.geometry.Polygon()


def joint_region(constraints: Constraints):
    """Where every clue holds at once (areas within the sun's band); None without a
    clue that has a place."""
    areas = allowed_region(constraints)
    if constraints.sun is None:
        return areas
    band = sun_band(constraints.sun)
    if areas is None:
        return band
    parts = polygons_of(areas.intersection(band))
    return unary_union(parts) if parts else shapely.geometry.Polygon()


def cell_weights(constraints: Constraints, tokens: Sequence[str]) -> CellWeights:
    """The weights of `tokens` (the finest cells, in class order); raises ConstraintError
    when the constraints leave no cell at all, naming the one that does it alone."""
    tokens = list(tokens)
    parts: dict = {}
    joint = joint_region(constraints)
    if joint is None:
        return CellWeights(constraints, tokens, np.ones(len(tokens)), None, parts)
    weights = area_shares(joint, tokens, parts)
    if not np.any(weights > 0):
        raise ConstraintError(_nothing_left(constraints, tokens))
    return CellWeights(constraints, tokens, weights, joint, parts)


def _nothing_left(constraints: Constraints, tokens: Sequence[str]) -> str:
    """Which clue leaves nothing on its own, else that they do it together (measured
    only here, on the way to the refusal)."""
    culprits = []
    areas = allowed_region(constraints)
    if areas is not None and not np.any(area_shares(areas, tokens) > 0):
        culprits += [a.describe() for a in constraints.areas]
    if constraints.sun is not None and \
            not np.any(area_shares(sun_band(constraints.sun), tokens) > 0):
        culprits.append(constraints.sun.describe())
    n_cells = len(tokens)
    what = " and ".join(f"'{c}'" for c in (culprits or constraints.describe()))
    together = "" if culprits else " (together)"
    return (f"the constraints leave nothing: with {what}{together}, none of the model's "
            f"{n_cells} cells (the places it can answer) remains; loosen them. Nothing was "
            "written.")
