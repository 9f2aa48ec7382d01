"""Credible regions: what an investigator can honestly claim about a photo.

"The model puts 90 % of its probability inside this outline" is a statement a reader can
check against its area; a single point with a confidence is not.  A region of mass m is
the smallest-area set of finest cells, taken by decreasing probability density, whose
probabilities add up to at least m (modeling/credible.py says why density and what
"smallest" guarantees).

``Prediction.finest`` keeps the cells in that order only up to 99 % of the mass (or a
cap), so a region of a very flat distribution may fall short of its target: ``covered``
says how much it really holds, and readers should compare it with ``mass``.

Every region is drawn from the model's partition of finest cells (``partition_polygons``:
neighbours share their points, so unions have no slivers), whichever writer asks: the
command line, the dock, Processing and the public ``write_geopackage`` take one path.
Areas are geodesic on WGS 84 (geo.py), the sum of the cells' measured areas.

Under clues (``Prediction.allowed``: where every clue holds) a region is the allowed part
of its cells: the cells are ranked by density on their allowed area (area times
``CellProbability.allowed_share``), the region's area is the sum of those allowed areas,
and its polygon is the union of its cells intersected with the allowed geometry.  The
record carries both, so every writer draws the same region; without clues nothing of
this applies and the regions are those of the whole cells.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point

from ..geo import as_multipolygon
from ..modeling.cell_geometry import partition_areas_km2, partition_polygons
from ..modeling.credible import allowed_areas, density_order, prefix_reaching, running_sums
from ..records import Prediction

DEFAULT_MASSES = (0.5, 0.9)
# Neighbouring cells share edges up to ~1e-15 degrees of rounding; dissolving them as is
# leaves near-duplicate vertices that turn invalid once written as text (WKT, GeoJSON).
# Snapping the union to 1e-9 degrees (0.1 mm) removes them at no cost in accuracy.
GRID_DEG = 1e-9
# Up to this many cells a plain overlay is as quick as the arrangement (cell_coverage.py)
FEW_CELLS = 8


@dataclass(frozen=True)
class Region:
    mass: float  # target probability mass (0.5, 0.9, ...)
    covered: float  # probability mass actually inside (>= mass unless finest was capped)
    n_cells: int
    geometry: MultiPolygon  # lon/lat degrees, parts within [-180, 180]
    area_km2: float  # geodesic area on WGS 84

    @property
    def is_empty(self) -> bool:
        return self.n_cells == 0 or self.geometry.is_empty


def credible_region(prediction: Prediction, mass: float, finest: tuple[str, ...]) -> Region:
    """The smallest-area set of finest cells, by decreasing density, holding `mass`.
    ``finest``: the tokens of all finest cells of the model (``finest_tokens``)."""
    return credible_regions(prediction, (mass,), finest)[0]


def credible_regions(prediction: Prediction, masses: Iterable[float],
                     finest: tuple[str, ...]) -> tuple[Region, ...]:
    """Regions for several masses (the outputs report 50 % and 90 %): the cells ranked,
    summed and located once for all of them.

    ``prediction.finest`` is ranked again (stably) so hand-made records in another order
    get the same regions; a cell that is not among the model's ``finest`` is an error,
    not a second way of drawing.  A region of many cells is dissolved through the
    partition's arrangement (cell_coverage.py): the same polygon at a fraction of the
    cost."""
    masses = tuple(masses)
    for mass in masses:
        if not 0.0 < mass <= 1.0:
            raise ValueError(f"mass must be in (0, 1], got {mass}")
    if not finest:
        raise ValueError("credible regions need the model's finest cells (finest_tokens)")
    where = _positions(finest)  # once: the cache hashes all of finest
    at = np.fromiter((where.get(c.token, -1) for c in prediction.finest), np.int64,
                     len(prediction.finest))
    if (at < 0).any():
        token = prediction.finest[int(np.flatnonzero(at < 0)[0])].token
        raise ValueError(f"cell {token} of {prediction.path} is not one of the model's "
                         f"{len(finest)} finest cells: the record and the model disagree")
    probs = np.fromiter((float(c.probability) for c in prediction.finest), float, len(at))
    cell_areas = partition_areas_km2(finest)[at]
    allowed = prediction.allowed
    if allowed is not None:  # under clues a cell counts only where they hold
        cell_areas = allowed_areas(cell_areas, np.fromiter(
            (float(c.allowed_share) for c in prediction.finest), float, len(at)))
    order = density_order(probs, cell_areas)
    at = at[order]
    sums = running_sums(probs[order])
    areas = np.cumsum(cell_areas[order])
    return tuple(_region(at, sums, areas, float(m), finest, allowed) for m in masses)


def _region(at: np.ndarray, sums: np.ndarray, areas: np.ndarray, mass: float,
            finest: tuple[str, ...], allowed=None) -> Region:
    n = prefix_reaching(sums, mass)
    if n == 0:
        return Region(mass, 0.0, 0, MultiPolygon(), 0.0)
    if n > FEW_CELLS:
        from .cell_coverage import coverage_for

        geom = coverage_for(finest).union_of(at[:n])
    else:  # drawn so that neighbours share their points: no slivers
        every = partition_polygons(finest)
        geom = as_multipolygon(shapely.set_precision(
            shapely.union_all([every[i] for i in at[:n].tolist()]), GRID_DEG))
    if allowed is not None:
        geom = _clipped(geom, allowed)
    # the cells are a partition: the region's area is the sum of its cells' (allowed)
    return Region(mass, float(sums[n - 1]), n, geom, float(areas[n - 1]))


def _clipped(geom: MultiPolygon, allowed) -> MultiPolygon:
    """The part of `geom` inside `allowed` (clipped to the region's box first: a
    country's outline is far larger than one region), snapped like every region."""
    local = shapely.clip_by_rect(allowed, *geom.bounds)
    part = shapely.set_precision(shapely.make_valid(geom.intersection(local)), GRID_DEG)
    return as_multipolygon(part)


@lru_cache(maxsize=4)
def _positions(finest: tuple[str, ...]) -> dict[str, int]:
    return {t: i for i, t in enumerate(finest)}


def contains(region: Region, lat: float, lon: float) -> bool:
    """Is the point inside (or on the edge of) the region?  Longitudes are wrapped to
    [-180, 180) first, and a point exactly on the antimeridian also tries the other
    side, since cell parts there carry either -180 or 180."""
    if region.is_empty:
        return False
    lon = ((float(lon) + 180.0) % 360.0) - 180.0
    if region.geometry.covers(Point(lon, float(lat))):
        return True
    return lon == -180.0 and region.geometry.covers(Point(180.0, float(lat)))
