"""Where the sun stood at a given elevation at a given moment (as Bellingcat's
ShadowFinder does): the band of places, whose overlap with each cell weights.py measures
together with the area clues.

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
from shapely.geometry import MultiPolygon, box
from shapely.ops import unary_union

# ``sun`` below is a ``base.SunConstraint`` (time_utc, elevation_deg, tolerance_deg); not
# imported, since the record asks this module for its band (``SunConstraint.band``)

BAND_STEP_DEG = 0.5  # grid of the band geometry written with the run


def solar_elevation_deg(time_utc, lat, lon) -> np.ndarray:
    """The sun's elevation above the horizon in degrees at `time_utc` (aware datetime)
    for arrays of latitudes and longitudes."""
    import suncalc

    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    pos = suncalc.get_position(time_utc, lon, lat)
    return np.degrees(np.asarray(pos["altitude"], dtype=np.float64))


def in_band(sun, lat, lon) -> np.ndarray:
    """True where the sun's elevation at `sun.time_utc` is within the tolerance."""
    e = solar_elevation_deg(sun.time_utc, lat, lon)
    return np.abs(e - sun.elevation_deg) <= sun.tolerance_deg


@lru_cache(maxsize=8)  # the weights and the constraints layer both draw it, once
def sun_band(sun, step_deg: float = BAND_STEP_DEG) -> MultiPolygon:
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
