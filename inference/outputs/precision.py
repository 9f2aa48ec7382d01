"""At what precision an answer can be read: the words before the numbers.

A weak model's point ("42.8376, -123.2096, near Canyonville") claims a precision of
metres for an answer whose 50 % region covers millions of km².  What the answer supports
is the region: the countries and continent it covers and its area.  So a reader names the
region first when the point is not trustworthy, and gives the point's coordinates only to
the precision the region supports; the exact numbers stay in the details.

Rules, kept here so the dock, the case report and the exports apply the same:

* the point is *trustworthy* when its 50 % region is at most ``TRUSTED_KM2`` (a disc of
  about 180 km radius: a region, a large city's surroundings) and lies on one continent
  at most: a small region scattered over cells on three continents (a model torn
  between places) is no more precise than a large one;
* coordinates are rounded to the region's scale: one unit of the last decimal (111 km
  for whole degrees, 11 km for one decimal, ...) no finer than a tenth of the side of a
  square of the region's area, and never below whole degrees or beyond 4 decimals; a
  region on several continents gets whole degrees.

Plain Python on a ``PredictionRow`` (prediction_row.py): no shapely, GDAL or QGIS.
"""

from __future__ import annotations

import math
from typing import Optional

from .prediction_row import PredictionRow

TRUSTED_KM2 = 100_000.0
KM_PER_DEGREE = 111.2
MAX_DIGITS = 4
SHOWN_COUNTRIES = 3  # a headline names this many, then "and N more"


def point_trusted(row: PredictionRow) -> bool:
    """Whether the point may lead the answer: its 50 % region is small enough.  A run
    that recorded no region (None) is not trusted either: nothing says it is precise."""
    return (row.region50_km2 is not None and row.region50_km2 <= TRUSTED_KM2
            and len(row.region50_continent) <= 1)


def point_digits(row: PredictionRow) -> int:
    """Decimals the point of `row` is shown with (see module)."""
    if len(row.region50_continent) > 1:
        return 0
    return coordinate_digits(row.region50_km2)


def coordinate_digits(area_km2: Optional[float]) -> int:
    """Decimals of a coordinate that a region of `area_km2` supports (see module)."""
    if area_km2 is None or not area_km2 > 0:
        return MAX_DIGITS
    step_km = math.sqrt(area_km2) / 10.0
    digits = math.ceil(math.log10(KM_PER_DEGREE / step_km))
    return max(0, min(MAX_DIGITS, digits))


def rounded_latlon(lat: float, lon: float, digits: int) -> str:
    """"59°N, 25°E": a rounded point with hemispheres, which reads as approximate."""
    lat_r, lon_r = round(lat, digits), round(lon, digits)
    ns = "N" if lat_r >= 0 else "S"
    ew = "E" if lon_r >= 0 else "W"
    return f"{abs(lat_r):.{digits}f}°{ns}, {abs(lon_r):.{digits}f}°{ew}"


def area_text(km2: Optional[float]) -> str:
    """3,100,000 -> "3.1 million km²"; 41,200 -> "41,200 km²"; None -> "unknown"."""
    if km2 is None:
        return "unknown"
    if km2 >= 1e6:
        return f"{km2 / 1e6:.1f} million km²"
    return f"{km2:,.0f} km²"


def shown_countries(row: PredictionRow, limit: int = SHOWN_COUNTRIES
                    ) -> tuple[tuple[str, ...], int]:
    """The first `limit` countries of the 50 % region and how many more it covers."""
    names = row.region50_countries
    return names[:limit], max(0, len(names) - limit)


def region_recorded(row: PredictionRow) -> bool:
    """Whether the run recorded what the region covers (runs before issue 20 did not)."""
    return row.region50_land is not None
