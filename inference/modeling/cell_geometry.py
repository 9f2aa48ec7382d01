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
from shapely.affinity import translate
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.ops import unary_union

from ..geo import geodesic_area_km2
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
    return _lonlat_ring(np.vstack(pts))


def _lonlat_ring(xyz: np.ndarray) -> List[Tuple[float, float]]:
    lonlat = _to_lonlat(xyz)
    lat = lonlat[:, 1]
    # a pole's longitude is noise (atan2 of two zeros, 0 or 180 by their signs): it takes
    # the previous point's so it cannot make the unwrapping jump
    for i in np.flatnonzero(np.abs(np.abs(lat) - 90) < 1e-9):
        lonlat[i, 0] = lonlat[i - 1, 0]
    # unwrap longitudes so the ring is continuous, then handle poles
    lon = np.degrees(np.unwrap(np.radians(lonlat[:, 0])))
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
    return _in_range(Polygon(_ring(token, max_step_deg)))


def _in_range(poly: Polygon) -> MultiPolygon:
    """A ring with unwrapped longitudes cut back into [-180, 180]."""
    if not poly.is_valid:
        poly = poly.buffer(0)
    parts = []
    for shift in (-360.0, 0.0, 360.0):
        window = box(-180.0 - shift, -90.0, 180.0 - shift, 90.0)
        piece = poly.intersection(window)
        if not piece.is_empty:
            parts.append(translate(piece, xoff=shift))
    merged = unary_union(parts)
    geoms = [merged] if isinstance(merged, Polygon) else [
        g for g in getattr(merged, "geoms", []) if isinstance(g, Polygon)]
    return MultiPolygon(geoms)


# A region is the union of some of a hierarchy's finest cells, which mix S2 levels.
# Densified edge by edge as above, a coarse cell's edge and its finer neighbours' edges
# along the same arc get different points, and straight lon/lat segments between them
# leave slivers (gaps and overlaps): ~1,500 sliver holes in the union of the default
# model's cells.  Cells of a partition are therefore drawn so that neighbours share
# their points: every edge carries the points of one fixed grid (the corners of the S2
# cells of GRID_LEVEL, 0.21 to 0.38 degrees apart) and every corner of another cell of
# the partition that lies on it (finer cells' corners fall between grid points).
GRID_LEVEL = 8
_ON_ARC = 1e-12  # radians: a corner this close to an edge's great circle lies on it


def _face_points(face: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Unit vectors of corners given by face and leaf (i, j) coordinates (S2's quadratic
    projection, as s2sphere computes it); computed the same way for every cell of a
    face, so neighbours get bit-identical points."""
    u, v = (_st_to_uv(np.asarray(c, dtype=np.float64) * (1.0 / s2sphere.CellId.MAX_SIZE))
            for c in (i, j))
    one = np.ones_like(u)
    xyz = {0: (one, u, v), 1: (-u, one, v), 2: (-u, -v, one), 3: (-one, -v, -u),
           4: (v, -one, -u), 5: (v, u, -one)}[face]
    xyz = np.column_stack(xyz)
    return xyz / np.sqrt(np.einsum("ij,ij->i", xyz, xyz))[:, None]


def _st_to_uv(s: np.ndarray) -> np.ndarray:
    return np.where(s >= 0.5, (1.0 / 3.0) * (4 * s * s - 1),
                    (1.0 / 3.0) * (1 - 4 * (1 - s) * (1 - s)))


def _grid_edges(token: str) -> List[np.ndarray]:
    """Per edge k (from corner k, included, to corner k + 1, excluded, counter-clockwise
    as S2 numbers corners) the grid points along it."""
    cell_id = s2sphere.CellId(token_to_id(token))
    face, i, j, _ = cell_id.to_face_ij_orientation()
    size = cell_id.get_size_ij()
    i0, j0 = i & -size, j & -size
    i1, j1 = i0 + size, j0 + size
    t = np.arange(0, size, min(size, 1 << (s2sphere.CellId.MAX_LEVEL - GRID_LEVEL)),
                  dtype=np.int64)
    same = np.ones_like(t)
    walks = ((i0 + t, j0 * same), (i1 * same, j0 + t), (i1 - t, j1 * same),
             (i0 * same, j1 - t))
    return [_face_points(face, a, b) for a, b in walks]


def _with_points_on(edge: np.ndarray, end: np.ndarray, others: np.ndarray) -> np.ndarray:
    """The edge's points plus those of ``others`` strictly inside the arc from the edge's
    first point to ``end``, in order along the arc."""
    start = edge[0]
    normal = np.cross(start, end)
    normal /= np.linalg.norm(normal)
    ahead = np.cross(normal, start)  # (start x p) . normal == p . (normal x start)
    on = np.abs(others @ normal) < _ON_ARC
    after_start = others @ ahead > _ON_ARC
    before_end = others @ np.cross(end, normal) > _ON_ARC
    extra = others[on & after_start & before_end]
    if len(extra) == 0:
        return edge
    pts = np.vstack([edge, extra])
    t = np.arctan2(pts @ ahead, pts @ start)
    order = np.argsort(t, kind="stable")
    pts, t = pts[order], t[order]
    keep = np.r_[True, np.diff(t) > _ON_ARC]  # a corner that is also a grid point
    return pts[keep]


@lru_cache(maxsize=4)
def partition_polygons(tokens: Tuple[str, ...]) -> Tuple[MultiPolygon, ...]:
    """Polygons of a set of disjoint cells (a hierarchy's finest level) in which
    neighbouring cells have the same points along their common edges, so their union has
    no slivers.  Each is its cell as ``cell_polygon`` draws it, up to where the chords
    run (a few hundred metres at most); ``cell_polygon`` stays as it is for the cells
    layers, which show one cell at a time."""
    edges = [_grid_edges(t) for t in tokens]
    corners = np.array([e[0] for cell in edges for e in cell]).reshape(-1, 3)
    polys = []
    for cell in edges:
        near = corners[(corners @ np.mean([e[0] for e in cell], axis=0)) > 0]
        ring = [_with_points_on(e, cell[(k + 1) % 4][0], near) for k, e in enumerate(cell)]
        polys.append(_in_range(Polygon(_lonlat_ring(np.vstack(ring)))))
    return tuple(polys)


@lru_cache(maxsize=4)
def partition_areas_km2(tokens: Tuple[str, ...]) -> np.ndarray:
    """Geodesic area of each cell as ``partition_polygons`` draws it (read-only array).

    The cells are disjoint and share their points along common edges, so a region's area
    is the sum of its cells' (equal to measuring the dissolved outline to ~1e-9 relative,
    tested); and the probability density of a cell, by which credible regions rank the
    cells, is its probability over this area.  Measured once per bundle instead of a ring
    walk per photo, which cost an uncertain photo ~10 ms (docs/SPEED.md)."""
    areas = np.array([geodesic_area_km2(p) for p in partition_polygons(tokens)])
    areas.setflags(write=False)
    return areas
