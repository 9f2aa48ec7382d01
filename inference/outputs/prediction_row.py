"""One row of the ``predictions`` layer (and of ``candidates``) read back: the one reader.

``schema.prediction_rows`` writes these fields; this module reads them, for every
reader of a run: the dock's result view (from a QGIS feature) and the case report
(from an OGR feature).  Each turns its feature into a plain ``{field name: value}``
dict, NULL as None, and calls ``read_prediction`` / ``read_candidate``, so a field is
named and converted in one place.  The dataclass's field names are the schema's own
(``tests/test_outputs.py`` checks that they stay so).

A missing value stays None: a NULL point is "not recorded", never 0, 0 (a point in
the Gulf of Guinea).  NaN and infinities read as None too (the writers store none).

Kept free of shapely, GDAL and QGIS (like ``layer_names``): the plugin imports it at
start-up.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import unquote_to_bytes


@dataclass(frozen=True)
class CellRow:
    """The best cell of one hierarchy level (``cell_<level>``, ``cell_<level>_prob``)."""

    level: int
    token: str
    probability: Optional[float]


@dataclass(frozen=True)
class CandidateRow:
    """One feature of the ``candidates`` layer."""

    rank: int
    probability: Optional[float]
    lat: Optional[float]
    lon: Optional[float]
    place: str


@dataclass(frozen=True)
class PredictionRow:
    """One feature of the ``predictions`` layer, with the photo's candidates (best
    first).  Numbers are None where the file holds NULL; text is "" then."""

    photo_path: str
    file_name: str
    photo_relpath: str
    sha256: str
    lat: Optional[float]
    lon: Optional[float]
    confidence: Optional[float]
    place: str
    country_code: str
    scene: str  # as recorded (a code where the bundle's names are codes: services/scenes.py)
    scene_confidence: Optional[float]
    cells: tuple[CellRow, ...]  # the best cell per level, coarse to fine
    exif_lat: Optional[float]
    exif_lon: Optional[float]
    error_km: Optional[float]
    exif_conflict: Optional[bool]
    region50_km2: Optional[float]
    region90_km2: Optional[float]
    # what the run's constraints did; None without constraints
    constraint_mass_removed: Optional[float]
    unconstrained_lat: Optional[float]
    unconstrained_lon: Optional[float]
    unconstrained_probability: Optional[float]
    unconstrained_cell: str
    candidates: tuple[CandidateRow, ...] = ()
    # the path's exact bytes, percent-encoded, where photo_path could not hold them
    photo_path_bytes: str = ""
    # how the point was chosen (records.Placement): "exif", "track" or "model" (runs
    # from before tracks: "model"); the model's own point beside it
    method: str = "model"
    track_source: str = ""
    track_gap_s: Optional[float] = None
    radius_m: Optional[float] = None
    model_lat: Optional[float] = None
    model_lon: Optional[float] = None
    model_distance_km: Optional[float] = None
    placement_note: str = ""
    # what the 50 % region covers, largest share first (empty: not recorded, or a
    # region on no country), and the share of it on land (None: not recorded)
    region50_countries: tuple[str, ...] = ()
    region50_continent: tuple[str, ...] = ()
    region50_land: Optional[float] = None
    # the decision rule that placed the point (None: a run from before it was recorded)
    decision_radius_km: Optional[float] = None
    decision_mass: Optional[float] = None

    @property
    def photo_file(self) -> str:
        """The photo's path as the file system names it (``photo_file_path``)."""
        return photo_file_path(self.photo_path, self.photo_path_bytes)

    @property
    def has_point(self) -> bool:
        """Whether the predicted point is recorded (both coordinates)."""
        return self.lat is not None and self.lon is not None


def number(value: Any) -> Optional[float]:
    """A stored number as a float; None for NULL, NaN and infinities."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def text(value: Any) -> str:
    return "" if value is None else str(value)


def photo_file_path(photo_path: str, photo_path_bytes: str = "") -> str:
    """The path to open: ``photo_path_bytes`` decoded where the run recorded it (a name
    that is not UTF-8: ``schema.path_bytes``), else ``photo_path`` as it is.  Only that
    field is decoded: a ``\xff`` in ``photo_path`` may be a real backslash."""
    if not photo_path_bytes:
        return photo_path
    return os.fsdecode(unquote_to_bytes(photo_path_bytes))


NAME_SEPARATOR = "; "  # as schema.NAME_SEPARATOR writes it


def names(value: Any) -> tuple[str, ...]:
    """A "; "-separated list of names as a tuple (NULL and "" as ())."""
    return tuple(n.strip() for n in text(value).split(NAME_SEPARATOR) if n.strip())


def _cells(values: Mapping[str, Any]) -> tuple[CellRow, ...]:
    out, level = [], 0
    while f"cell_{level}" in values:
        token = values[f"cell_{level}"]
        if token:
            out.append(CellRow(level, str(token), number(values.get(f"cell_{level}_prob"))))
        level += 1
    return tuple(out)


def read_candidate(values: Mapping[str, Any]) -> CandidateRow:
    """A ``candidates`` feature from its field values (NULL as None)."""
    rank = values.get("rank")
    return CandidateRow(0 if rank is None else int(rank), number(values.get("probability")),
                        number(values.get("lat")), number(values.get("lon")),
                        text(values.get("place")))


def read_prediction(values: Mapping[str, Any],
                    candidates: tuple[CandidateRow, ...] = ()) -> PredictionRow:
    """A ``predictions`` feature from its field values (NULL as None) and the photo's
    candidates (sorted here by rank)."""
    path = text(values.get("photo_path"))
    conflict = values.get("exif_conflict")
    return PredictionRow(
        photo_path=path, file_name=text(values.get("file_name")) or os.path.basename(path),
        photo_relpath=text(values.get("photo_relpath")), sha256=text(values.get("sha256")),
        lat=number(values.get("lat")), lon=number(values.get("lon")),
        confidence=number(values.get("confidence")), place=text(values.get("place")),
        country_code=text(values.get("country_code")), scene=text(values.get("scene")),
        scene_confidence=number(values.get("scene_confidence")), cells=_cells(values),
        exif_lat=number(values.get("exif_lat")), exif_lon=number(values.get("exif_lon")),
        error_km=number(values.get("error_km")),
        exif_conflict=None if conflict is None else bool(conflict),
        region50_km2=number(values.get("region50_km2")),
        region90_km2=number(values.get("region90_km2")),
        constraint_mass_removed=number(values.get("constraint_mass_removed")),
        unconstrained_lat=number(values.get("unconstrained_lat")),
        unconstrained_lon=number(values.get("unconstrained_lon")),
        unconstrained_probability=number(values.get("unconstrained_probability")),
        unconstrained_cell=text(values.get("unconstrained_cell")),
        candidates=tuple(sorted(candidates, key=lambda c: c.rank)),
        photo_path_bytes=text(values.get("photo_path_bytes")),
        method=text(values.get("method")) or "model",
        track_source=text(values.get("track_source")),
        track_gap_s=number(values.get("track_gap_s")),
        radius_m=number(values.get("radius_m")),
        model_lat=number(values.get("model_lat")), model_lon=number(values.get("model_lon")),
        model_distance_km=number(values.get("model_distance_km")),
        placement_note=text(values.get("placement_note")),
        region50_countries=names(values.get("region50_countries")),
        region50_continent=names(values.get("region50_continent")),
        region50_land=number(values.get("region50_land")),
        decision_radius_km=number(values.get("decision_radius_km")),
        decision_mass=number(values.get("decision_mass")))
