"""Where the sun stood at a given elevation at a given moment (as Bellingcat's
ShadowFinder does), and how much of each cell lies in that band.

Solar position comes from **suncalc** (the Python port of suncalc.js, 0.1.3, pinned in
requirements.txt and in the plugin's installer list).  Chosen over the alternatives:
it is what ShadowFinder uses, it is vectorised (a 0.5-degree world grid, 260 000 places,
is one numpy call), tiny and pure Python on numpy alone; pysolar and astral compute one
place per call (seconds for a world grid), and pvlib, the most exact, pulls in pandas,
scipy and h5py, too heavy for a QGIS plugin's private install.  suncalc's low-precision
solar formulas are good to about a tenth of a degree, well inside the default 2-degree
tolerance; its elevation is geometric (no refraction), which differs from what a
shadow shows by under 0.1 degree above 10 degrees of elevation and about half a degree
at the horizon -- widen the tolerance for a sun that low.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import s2sphere
from shapely.geometry import MultiPolygon, box
from shapely.ops import unary_union

from ..modeling.cells import token_to_id
from .base import SunConstraint

BAND_STEP_DEG = 0.5  # grid of the band geometry written with the run


def solar_elevation_deg(time_utc, lat, lon) -> np.ndarray:
    """The sun's elevation above the horizon in degrees at `time_utc` (aware datetime)
    for arrays of latitudes and longitudes."""
    import suncalc

    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    pos = suncalc.get_position(time_utc, lon, lat)
    return np.degrees(np.asarray(pos["altitude"], dtype=np.float64))


def in_band(sun: SunConstraint, lat, lon) -> np.ndarray:
    """True where the sun's elevation at `sun.time_utc` is within the tolerance."""
    e = solar_elevation_deg(sun.time_utc, lat, lon)
    return np.abs(e - sun.elevation_deg) <= sun.tolerance_deg


@lru_cache(maxsize=8)  # the weights and the constraints layer both draw it, once
def sun_band(sun: SunConstraint, step_deg: float = BAND_STEP_DEG) -> MultiPolygon:
    """The band of places as polygons: grid squares of `step_deg` whose centre is in the
    band, merged along each row, then unioned (a ring around the sub-solar point)."""
    lats = np.arange(-90 + step_deg / 2, 90, step_deg)
    lons = np.arange(-180 + step_deg / 2, 180, step_deg)
    glon, glat = np.meshgrid(lons, lats)
    mask = in_band(sun, glat, glon)
    boxes = []
    for r, lat in enumerate(lats):
        row = np.concatenate([[False], mask[r], [False]])
        edges = np.flatnonzero(np.diff(row.astype(np.int8)))
        for start, stop in zip(edges[::2], edges[1::2]):
            boxes.append(box(-180 + start * step_deg, lat - step_deg / 2,
                             -180 + stop * step_deg, lat + step_deg / 2))
    if not boxes:
        return MultiPolygon()
    merged = unary_union(boxes)
    return merged if isinstance(merged, MultiPolygon) else MultiPolygon([merged])


def samples_per_side(s2_level: int) -> int:
    """A big cell needs more points to see a band a few hundred km wide cross it."""
    return 16 if s2_level <= 4 else 8 if s2_level <= 7 else 4


@lru_cache(maxsize=65536)
def cell_samples(token: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lon, weight) of a regular grid of points inside the cell, weights summing
    to one in proportion to the area each point stands for.

    An S2 cell is a rectangle in its face's (u, v) plane, and a point there maps to the
    sphere by normalising (1, u, v) (rotated to the face): the raw corner vertices lie on
    that plane, so bilinear interpolation between them is a uniform (u, v) grid, and
    the gnomonic area element 1/|p|^3 weighs each point."""
    cell = s2sphere.Cell(s2sphere.CellId(token_to_id(token)))
    corners = np.array([[cell.get_vertex_raw(k)[i] for i in range(3)] for k in range(4)])
    n = samples_per_side(cell.level())
    t = (np.arange(n) + 0.5) / n
    a, b = np.meshgrid(t, t)
    a, b = a.ravel()[:, None], b.ravel()[:, None]
    p = ((1 - a) * (1 - b) * corners[0] + a * (1 - b) * corners[1] + a * b * corners[2]
         + (1 - a) * b * corners[3])
    norm = np.linalg.norm(p, axis=1)
    unit = p / norm[:, None]
    lat = np.degrees(np.arctan2(unit[:, 2], np.hypot(unit[:, 0], unit[:, 1])))
    lon = np.degrees(np.arctan2(unit[:, 1], unit[:, 0]))
    w = norm ** -3.0
    return lat, lon, w / w.sum()


def cell_sun_shares(sun: SunConstraint, tokens) -> np.ndarray:
    """Per cell token, the share of its area where the sun stood in the band."""
    samples = [cell_samples(t) for t in tokens]
    if not samples:
        return np.zeros(0)
    lat = np.concatenate([s[0] for s in samples])
    lon = np.concatenate([s[1] for s in samples])
    w = np.concatenate([s[2] for s in samples])
    inside = in_band(sun, lat, lon).astype(np.float64) * w
    ends = np.cumsum([len(s[0]) for s in samples])
    sums = np.add.reduceat(inside, np.concatenate([[0], ends[:-1]]))
    return np.clip(sums, 0.0, 1.0)
