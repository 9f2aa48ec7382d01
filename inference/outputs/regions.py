"""Credible regions: what an investigator can honestly claim about a photo.

"The model puts 90 % of its probability inside this outline" is a statement a reader can
check against its area; a single point with a confidence is not.  A region of mass m is
the smallest set of finest cells (taken in decreasing probability) whose probabilities
add up to at least m: the highest-posterior-density region over the cell partition.

``Prediction.finest`` keeps only the cells up to 99 % of the mass (or a cap), so a
region of a very flat distribution may fall short of its target: ``covered`` says how
much it really holds, and readers should compare it with ``mass``.

Areas are geodesic on the WGS 84 ellipsoid (pyproj.Geod), not planar degrees, so a
region at 60 degrees north is not reported twice as big as it is.  Cells split at the
antimeridian are measured part by part and added, which is exact because the split edge
is a meridian (a geodesic); a region larger than a quarter of the Earth is measured in
eighths of the Earth (cut along the equator and four meridians, geodesics too), since
pyproj cannot tell a ring around more than half the Earth from one around the rest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from ..modeling.cell_geometry import cell_polygon, partition_polygons
from ..prediction.records import Prediction

_GEOD = Geod(ellps="WGS84")
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


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Polygonal parts of any geometry as one MultiPolygon (lines and points dropped)."""
    if geom.is_empty:
        return MultiPolygon()
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    polys = [p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    return MultiPolygon(polys)


def geodesic_area_km2(geom: BaseGeometry) -> float:
    """Area of a lon/lat (Multi)Polygon on the WGS 84 ellipsoid, in km^2.

    pyproj measures a ring as the smaller of the two areas it bounds (signed by
    orientation, within plus or minus half the Earth), so a polygon larger than a
    hemisphere comes back as the rest of the world.  A polygon whose bounding box could
    hold a quarter of the Earth is therefore cut along the equator and the meridians -90,
    0 and 90 (great circles, so the cuts add no error) and measured piece by piece.
    Rings are measured one by one (shell minus holes, absolute values) because pyproj
    returns signed areas and a union may hand back either orientation.  No shapely
    ``orient``: inside QGIS it can resolve to QGIS's older GEOS and crash the process.
    Ring areas are remembered by their coordinates: the same rings come back photo
    after photo.
    """
    total = 0.0
    for poly in as_multipolygon(geom).geoms:
        if _under_a_quarter(poly.bounds):
            total += _polygon_area(poly)
            continue
        for tile in _TILES:
            piece = poly.intersection(tile)
            total += sum(_polygon_area(p) for p in as_multipolygon(piece).geoms)
    return total / 1e6


# 90 x 90 degree tiles: an eighth of the Earth each, bounded by great circles
_TILES = [box(x, y, x + 90.0, y + 90.0) for x in (-180.0, -90.0, 0.0, 90.0)
          for y in (-90.0, 0.0)]


def _under_a_quarter(bounds: tuple[float, float, float, float]) -> bool:
    """Is the spherical area of the lon/lat box under a quarter of the sphere's (4 pi)?
    The polygon's edges are short, so it is then far below pyproj's half-Earth limit."""
    minx, miny, maxx, maxy = bounds
    width = math.radians(maxx - minx)
    return width * (math.sin(math.radians(maxy)) - math.sin(math.radians(miny))) < math.pi


def _polygon_area(poly: Polygon) -> float:
    rings = shapely.get_rings(poly)
    xy, which = shapely.get_coordinates(rings, return_index=True)
    bounds = np.flatnonzero(np.diff(which)) + 1
    areas = [abs(_ring_area(r)) for r in np.split(xy, bounds)]
    return areas[0] - sum(areas[1:])


_RING_AREAS: dict[bytes, float] = {}
_RING_AREAS_MAX = 200_000


def _ring_area(xy: np.ndarray) -> float:
    key = xy.tobytes()
    area = _RING_AREAS.get(key)
    if area is None:
        if len(_RING_AREAS) >= _RING_AREAS_MAX:
            _RING_AREAS.clear()
        area = _RING_AREAS[key] = _GEOD.polygon_area_perimeter(
            np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]))[0]
    return area


def credible_prefix(sorted_probs: Sequence[float], mass: float) -> int:
    """Number of leading cells (probabilities in decreasing order) whose sum first
    reaches ``mass``; all of them when it is never reached (a capped list).  The one
    definition of a credible region's cells: the regions layer draws them and
    ``calibration.coverage`` checks the true place against them."""
    return _prefix(_running_sums(sorted_probs), mass)


def _running_sums(probs: Iterable[float]) -> np.ndarray:
    """Sums of the first 1, 2, ... probabilities, added one by one in order (NumPy's
    cumulative sum is sequential: the very sums of a Python loop)."""
    return np.cumsum(np.fromiter((float(p) for p in probs), float))


def _prefix(sums: np.ndarray, mass: float) -> int:
    reached = np.flatnonzero(sums >= mass)
    return int(reached[0]) + 1 if len(reached) else len(sums)


def credible_region(prediction: Prediction, mass: float,
                    finest: tuple[str, ...] | None = None) -> Region:
    """Smallest set of the finest cells, taken by decreasing probability, holding `mass`.

    ``prediction.finest`` is already sorted by decreasing probability; it is sorted again
    (stably) so hand-made records with another order still get the right region.
    ``finest``: the tokens of all finest cells of the model, when known; the cells are
    then drawn as a partition (``partition_polygons``: neighbours share their points, so
    the union has no slivers between cells of different levels), and a region of many
    of them is dissolved through their arrangement (cell_coverage.py), which gives the
    same polygon at a fraction of the cost.
    """
    return credible_regions(prediction, (mass,), finest)[0]


def credible_regions(prediction: Prediction, masses: Iterable[float] = DEFAULT_MASSES,
                     finest: tuple[str, ...] | None = None) -> tuple[Region, ...]:
    """Regions for several masses (by default the 50 % and 90 % the outputs report): the
    cells ranked, summed and located once for all of them."""
    masses = tuple(masses)
    for mass in masses:
        if not 0.0 < mass <= 1.0:
            raise ValueError(f"mass must be in (0, 1], got {mass}")
    cells = tuple(sorted(prediction.finest, key=lambda c: -float(c.probability)))
    sums = _running_sums(c.probability for c in cells)
    at = areas = None  # each cell's position among the model's finest cells (-1: none)
    if finest:
        where = _positions(finest)  # once: the cache hashes all of finest
        at = np.fromiter((where.get(c.token, -1) for c in cells), np.int64, len(cells))
        areas = np.cumsum(np.where(at >= 0, _cell_areas(finest)[at], np.nan))
    return tuple(_region(cells, sums, at, areas, float(m), finest) for m in masses)


def _region(cells, sums, at, areas, mass: float, finest) -> Region:
    n = _prefix(sums, mass)
    if n == 0:
        return Region(mass, 0.0, 0, MultiPolygon(), 0.0)
    covered = float(sums[n - 1])
    if at is None or (at[:n] < 0).any():  # cells the model does not list: one by one
        geom = as_multipolygon(shapely.set_precision(
            shapely.union_all([cell_polygon(c.token) for c in cells[:n]]), GRID_DEG))
        return Region(mass, covered, n, geom, geodesic_area_km2(geom))
    if n > FEW_CELLS:
        from .cell_coverage import coverage_for

        geom = coverage_for(finest).union_of(at[:n])
    else:  # drawn so that neighbours share their points: no slivers
        every = partition_polygons(finest)
        geom = as_multipolygon(shapely.set_precision(
            shapely.union_all([every[i] for i in at[:n].tolist()]), GRID_DEG))
    # the cells are a partition: the region's area is the sum of its cells' (_cell_areas)
    return Region(mass, covered, n, geom, float(areas[n - 1]))


@lru_cache(maxsize=4)
def _cell_areas(finest: tuple[str, ...]) -> np.ndarray:
    """Geodesic area of each finest cell as the partition draws it.  The cells are
    disjoint and share their points along common edges, so a region's area is the sum
    of its cells' (equal to measuring the dissolved outline to ~1e-9 relative, tested):
    measured once per bundle instead of a ring walk per photo, which cost an uncertain
    photo ~10 ms (docs/SPEED.md)."""
    areas = np.array([geodesic_area_km2(p) for p in partition_polygons(finest)])
    areas.setflags(write=False)
    return areas


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
