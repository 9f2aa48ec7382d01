"""Cell polygons that draw right in EPSG:4326.

S2 cell edges are great-circle arcs; drawn as straight lines between four corners in
plate carree a large cell is visibly wrong, so each edge is densified along its arc.
S2 edges run along the antimeridian (face centres lie on it), so a cell of level >= 1
touches 180 degrees but never straddles it; longitudes are unwrapped so a corner at -180
cannot fold the ring, anything past +-180 is cut back into range (which splits the six
level-0 faces), and a corner at a pole becomes a segment along the pole's latitude.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import List, Tuple

import numpy as np
import s2sphere
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.ops import unary_union

from .cells import token_to_id


def _corners(token: str) -> np.ndarray:
    cell = s2sphere.Cell(s2sphere.CellId(token_to_id(token)))
    pts = []
    for k in range(4):
        v = cell.get_vertex(k)
        p = np.array([v[0], v[1], v[2]], dtype=np.float64)
        pts.append(p / np.linalg.norm(p))
    return np.array(pts)


def _slerp(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """n points from a (included) towards b (excluded) along the great circle."""
    omega = math.acos(max(-1.0, min(1.0, float(a @ b))))
    if omega < 1e-12:
        return a[None, :]
    t = np.arange(n)[:, None] / n
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / math.sin(omega)


def _to_lonlat(xyz: np.ndarray) -> np.ndarray:
    lat = np.degrees(np.arctan2(xyz[:, 2], np.hypot(xyz[:, 0], xyz[:, 1])))
    lon = np.degrees(np.arctan2(xyz[:, 1], xyz[:, 0]))
    return np.column_stack([lon, lat])


def _ring(token: str, max_step_deg: float) -> List[Tuple[float, float]]:
    corners = _corners(token)
    pts = []
    for k in range(4):
        a, b = corners[k], corners[(k + 1) % 4]
        arc = math.degrees(math.acos(max(-1.0, min(1.0, float(a @ b)))))
        pts.append(_slerp(a, b, max(1, int(math.ceil(arc / max_step_deg)))))
    lonlat = _to_lonlat(np.vstack(pts))
    # unwrap longitudes so the ring is continuous, then handle poles
    lon = np.degrees(np.unwrap(np.radians(lonlat[:, 0])))
    lat = lonlat[:, 1]
    ring: List[Tuple[float, float]] = []
    n = len(lon)
    for i in range(n):
        if abs(abs(lat[i]) - 90) < 1e-9:  # corner at a pole: longitude undefined
            pole = math.copysign(90.0, lat[i])
            ring.append((lon[i - 1], pole))
            ring.append((lon[(i + 1) % n], pole))
        else:
            ring.append((lon[i], lat[i]))
    return ring


@lru_cache(maxsize=65536)
def cell_polygon(token: str, max_step_deg: float = 0.5) -> MultiPolygon:
    """The cell as a (Multi)Polygon in lon/lat degrees within [-180, 180] x [-90, 90]."""
    poly = Polygon(_ring(token, max_step_deg))
    if not poly.is_valid:
        poly = poly.buffer(0)
    parts = []
    for shift in (-360.0, 0.0, 360.0):
        window = box(-180.0 - shift, -90.0, 180.0 - shift, 90.0)
        piece = poly.intersection(window)
        if not piece.is_empty:
            from shapely.affinity import translate
            parts.append(translate(piece, xoff=shift))
    merged = unary_union(parts)
    geoms = [merged] if isinstance(merged, Polygon) else [
        g for g in getattr(merged, "geoms", []) if isinstance(g, Polygon)]
    return MultiPolygon(geoms)
