"""Which countries and continents a credible region covers, from the shipped boundaries.

A weak model's 50 % region spans millions of km²; its point is a poor answer, but "the
model puts half its probability on Estonia, Finland and Russia" is an honest one that a
reader can check.  A region is a set of finest cells, so the shares are measured per
cell, once per cell for the life of the process (the boundaries of the cells a run's
regions use: tens to hundreds, each intersected with the few countries its box meets),
and a region's shares are sums of its cells' shares: no polygon is dissolved or
intersected per photo.

Areas are geodesic (``geo.geodesic_area_km2``) on the shipped, simplified boundaries
(about 3 km): good to a percent or so, which is what naming a region needs.  What lies
over no country (sea, or the odd islet the simplification dropped) is the region's
share not on land.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Optional

import numpy as np
from shapely.geometry import shape

from ..geo import geodesic_area_km2
from ..records import RegionPlaces
from .areas import _countries
from .continents import continent_of

MIN_SHARE = 0.01  # a country with less of the region's area than this is not named
MIN_CONTINENT = 0.10  # nor a continent


@lru_cache(maxsize=1)
def _country_index():
    """(codes, names, geometries, STRtree) of the shipped countries."""
    from shapely import STRtree

    by_code = _countries()[0]
    codes = sorted(by_code)
    geoms = [shape(by_code[c][1]) for c in codes]
    return codes, [by_code[c][0] for c in codes], geoms, STRtree(geoms)


@lru_cache(maxsize=65536)
def cell_countries(token: str) -> tuple[tuple[int, str, float], ...]:
    """(country index, continent, km²) of every country the finest cell `token`
    overlaps, as ``cell_polygon`` draws the cell."""
    from ..modeling.cell_geometry import cell_polygon

    return _countries_of(cell_polygon(token))


@lru_cache(maxsize=4096)
def part_countries(part) -> tuple[tuple[int, str, float], ...]:
    """``cell_countries`` of the part of a cell where clues hold (a shapely polygon;
    the predictor hands the same object for a cell all run long)."""
    return _countries_of(part)


def _countries_of(cell) -> tuple[tuple[int, str, float], ...]:
    codes, _names, geoms, tree = _country_index()
    if cell.is_empty:
        return ()
    lon = cell.centroid.x
    out = []
    for i in tree.query(cell, predicate="intersects"):
        part = cell.intersection(geoms[int(i)])
        if part.is_empty:
            continue
        km2 = geodesic_area_km2(part)
        if km2 > 0:
            out.append((int(i), continent_of(codes[int(i)], lon), km2))
    return tuple(out)


def region_places(tokens: Sequence[str], areas_km2: Sequence[float],
                  parts: Optional[Mapping[str, object]] = None) -> RegionPlaces:
    """The countries and continents of the region made of the finest cells `tokens`
    (their geodesic areas `areas_km2`), each with its share of the region's area,
    largest first; countries under ``MIN_SHARE`` and continents under ``MIN_CONTINENT``
    left out.  An empty region gives an empty ``RegionPlaces``.  ``parts``: token -> the
    part of that cell the region holds (a cell a clue cuts; its area in `areas_km2` is
    that part's): only the countries of that part count."""
    total = float(np.sum(np.asarray(areas_km2, dtype=float))) if len(tokens) else 0.0
    if total <= 0:
        return RegionPlaces()
    _codes, names, _geoms, _tree = _country_index()
    by_country: dict[int, float] = {}
    by_continent: dict[str, float] = {}
    parts = parts or {}
    for token, cell_km2 in zip(tokens, areas_km2):
        part = parts.get(token)
        if part is None:
            found, whole = cell_countries(token), _cell_km2(token)
        else:
            found, whole = part_countries(part), geodesic_area_km2(part)
        drawn = sum(km2 for _i, _c, km2 in found)
        # the partition's outline and cell_polygon differ by a few hundred metres: the
        # cell's shares are scaled to its partition area, never above it
        scale = float(cell_km2) / max(drawn, whole, 1e-9)
        for i, continent, km2 in found:
            by_country[i] = by_country.get(i, 0.0) + km2 * scale
            if continent:
                by_continent[continent] = by_continent.get(continent, 0.0) + km2 * scale
    land = min(1.0, sum(by_country.values()) / total)
    countries = tuple((names[i], km2 / total) for i, km2 in
                      sorted(by_country.items(), key=lambda kv: (-kv[1], names[kv[0]]))
                      if km2 / total >= MIN_SHARE)
    continents = tuple((name, km2 / total) for name, km2 in
                       sorted(by_continent.items(), key=lambda kv: (-kv[1], kv[0]))
                       if km2 / total >= MIN_CONTINENT)
    return RegionPlaces(countries, continents, land)


@lru_cache(maxsize=65536)
def _cell_km2(token: str) -> float:
    from ..modeling.cell_geometry import cell_polygon

    return geodesic_area_km2(cell_polygon(token))
