"""Geodesy shared by every layer of the engine: great-circle distances and geodesic areas.

Distances are haversine on a sphere of R = 6371 km, the protocol of the published accuracy
tables (an ellipsoid would shift results by tenths of a percent and make them
incomparable).  Areas are geodesic on the WGS 84 ellipsoid (pyproj.Geod), not planar
degrees, so a region at 60 degrees north is not reported twice as big as it is: they are
what an investigator reads.  shapely and pyproj are imported on first use of an area, not
with this module: a prediction's start-up only needs the distances (docs/SPEED.md).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1, lon1, lat2, lon2):
    """Distance in km; scalars or numpy arrays (broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d


def medoid(coords: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The row of ``coords`` whose weighted great-circle distance to the others is least."""
    if len(coords) == 1:
        return coords[0]
    d = haversine_km(coords[:, None, 0], coords[:, None, 1], coords[None, :, 0], coords[None, :, 1])
    return coords[int(np.argmin(d @ weights))]


def as_multipolygon(geom):
    """Polygonal parts of any shapely geometry as one MultiPolygon (lines and points
    dropped)."""
    from shapely.geometry import MultiPolygon, Polygon

    if geom.is_empty:
        return MultiPolygon()
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    polys = [p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    return MultiPolygon(polys)


def geodesic_area_km2(geom) -> float:
    """Area of a lon/lat (Multi)Polygon on the WGS 84 ellipsoid, in km^2.

    pyproj measures a ring as the smaller of the two areas it bounds (signed by
    orientation, within plus or minus half the Earth), so a polygon larger than a
    hemisphere comes back as the rest of the world.  A polygon whose bounding box could
    hold a quarter of the Earth is therefore cut along the equator and the meridians -90,
    0 and 90 (great circles, so the cuts add no error) and measured piece by piece.
    Cells split at the antimeridian are measured part by part and added, which is exact
    because the split edge is a meridian (a geodesic).  Rings are measured one by one
    (shell minus holes, absolute values) because pyproj returns signed areas and a union
    may hand back either orientation.  No shapely ``orient``: inside QGIS it can resolve
    to QGIS's older GEOS and crash the process.  Ring areas are remembered by their
    coordinates: the same rings come back photo after photo.
    """
    total = 0.0
    for poly in as_multipolygon(geom).geoms:
        if _under_a_quarter(poly.bounds):
            total += _polygon_area(poly)
            continue
        for tile in _tiles():
            piece = poly.intersection(tile)
            total += sum(_polygon_area(p) for p in as_multipolygon(piece).geoms)
    return total / 1e6


@lru_cache(maxsize=1)
def _tiles() -> tuple:
    """90 x 90 degree tiles: an eighth of the Earth each, bounded by great circles."""
    from shapely.geometry import box

    return tuple(box(x, y, x + 90.0, y + 90.0) for x in (-180.0, -90.0, 0.0, 90.0)
                 for y in (-90.0, 0.0))


def _under_a_quarter(bounds: tuple[float, float, float, float]) -> bool:
    """Is the spherical area of the lon/lat box under a quarter of the sphere's (4 pi)?
    The polygon's edges are short, so it is then far below pyproj's half-Earth limit."""
    minx, miny, maxx, maxy = bounds
    width = math.radians(maxx - minx)
    return width * (math.sin(math.radians(maxy)) - math.sin(math.radians(miny))) < math.pi


def _polygon_area(poly) -> float:
    import shapely

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
        area = _RING_AREAS[key] = _geod().polygon_area_perimeter(
            np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]))[0]
    return area


@lru_cache(maxsize=1)
def _geod():
    from pyproj import Geod

    return Geod(ellps="WGS84")
