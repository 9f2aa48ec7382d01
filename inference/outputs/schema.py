"""The one schema of the output layers, shared by the command line and the QGIS plugin.

Layer names, field lists and the functions that turn records into rows live here so the
GeoPackage from ``python -m inference``, the CSV and the layers the plugin builds have
the same columns with the same meaning.  Nothing here touches GDAL or QGIS: a row is a
mapping of plain Python values (str, int, float, None) plus a shapely geometry in
lon/lat degrees, and each writer maps the field types itself.

Field types are OGR's own type names (``ogr.GetFieldTypeName``: "String", "Integer",
"Real", "DateTime"), which is also what ``ogrinfo`` prints.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_from_bytes

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ..modeling.cell_geometry import cell_polygon
from ..modeling.cells import CellHierarchy
from ..geo import haversine_km
from .layer_names import (CANDIDATES, CELLS_PREFIX, CONSTRAINTS, FAILURES,  # noqa: F401
                          PREDICTIONS, REGIONS, RUN_INFO, SURFACE, cells_layer)
from .places import Place, place_names
from ..records import PhotoFailure, Prediction
from .regions import Region, contains, credible_regions

SCHEMA_VERSION = 1
CRS = "EPSG:4326"  # every spatial layer; x = longitude, y = latitude

# ---------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str  # OGR field type name: String, Integer, Real, DateTime
    width: int = 0  # 0 = unlimited


@dataclass(frozen=True)
class LayerDef:
    name: str
    geometry: str | None  # OGR geometry name: "Point", "MultiPolygon"; None = table
    fields: tuple[FieldDef, ...]
    description: str = ""


@dataclass(frozen=True)
class Row:
    """One feature: attribute values by field name and a lon/lat geometry (or None)."""

    values: Mapping[str, Any]
    geometry: BaseGeometry | None = None


@dataclass(frozen=True)
class RunInfo:
    """What produced a file, written to every prediction and to the run_info table."""

    model_name: str
    model_version: str
    weights_sha256: str
    bundle_path: str
    device: str
    started: str  # ISO 8601 UTC, e.g. 2025-05-01T12:00:00Z (see utc_now_iso)
    seconds: float  # wall time of the prediction run
    untrained: bool = False  # weights are a random initialisation: results are meaningless
    # the bundle's digest (modeling/bundle.py): config (temperature, decision radius, ...)
    # and every data file; weights_sha256 alone does not say which model answered
    bundle_digest: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())
    constraints: Any = None  # inference.constraints.Constraints the run applied, or None

    @classmethod
    def for_bundle(cls, bundle, device: str, started: str, seconds: float = 0.0,
                   extra: tuple[tuple[str, str], ...] = (), constraints=None) -> RunInfo:
        """The run facts of a loaded ModelBundle, the same for the command line and QGIS."""
        return cls(model_name=bundle.info.name, model_version=bundle.info.model_version,
                   weights_sha256=bundle.weights_sha256, bundle_path=str(bundle.path),
                   device=device, started=started, seconds=seconds,
                   untrained=bundle.info.untrained, bundle_digest=bundle.digest,
                   extra=tuple(extra),
                   constraints=constraints if constraints else None)


def utc_now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


REGION_MASSES = (0.5, 0.9)


_S, _I, _R, _DT = "String", "Integer", "Real", "DateTime"
_PHOTO = (FieldDef("photo_path", _S), FieldDef("file_name", _S))

PREDICTION_HEAD = (
    FieldDef("photo_path", _S), FieldDef("photo_relpath", _S), FieldDef("file_name", _S),
    FieldDef("sha256", _S, 64), FieldDef("lat", _R), FieldDef("lon", _R),
    FieldDef("confidence", _R), FieldDef("place", _S), FieldDef("country_code", _S, 2),
    FieldDef("scene", _S), FieldDef("scene_confidence", _R),
)
PREDICTION_TAIL = (
    FieldDef("exif_lat", _R), FieldDef("exif_lon", _R), FieldDef("error_km", _R),
    FieldDef("exif_conflict", _I), FieldDef("region50_km2", _R), FieldDef("region90_km2", _R),
    FieldDef("model_name", _S), FieldDef("model_version", _S), FieldDef("weights_sha256", _S, 64),
    FieldDef("bundle_digest", _S, 64),
    FieldDef("device", _S), FieldDef("run_time", _DT),
    # what the run's constraints did (NULL without constraints): the probability they
    # took away and the model's own best cell before them
    FieldDef("constraint_mass_removed", _R), FieldDef("unconstrained_lat", _R),
    FieldDef("unconstrained_lon", _R), FieldDef("unconstrained_probability", _R),
    FieldDef("unconstrained_cell", _S, 16),
    # the photo path's exact bytes where photo_path cannot hold them (a Linux name that is
    # not UTF-8), percent-encoded; NULL otherwise (docs/CASE_REPORT.md, "Photo names")
    FieldDef("photo_path_bytes", _S),
    # how the point was chosen (records.Placement): "exif", "track" or "model"; for a
    # track the GPX file or GPS photos, the gap to the fixes and the radius the photo may
    # be from the point; the model's own point always, and its distance from the point
    # where the point is another (NULL for method "model")
    FieldDef("method", _S, 8), FieldDef("track_source", _S), FieldDef("track_gap_s", _R),
    FieldDef("radius_m", _R), FieldDef("model_lat", _R), FieldDef("model_lon", _R),
    FieldDef("model_distance_km", _R), FieldDef("placement_note", _S),
    # the answer in the words it can bear (issue 20): the countries ("; ", largest share
    # first) and continents the 50 % region covers, the share of it on land; and why the
    # point is where it is, the bundle's decision rule: the centre of the most probable
    # neighbourhood of that radius (0: the most probable cell) and the probability in it
    FieldDef("region50_countries", _S), FieldDef("region50_continent", _S),
    FieldDef("region50_land", _R), FieldDef("decision_radius_km", _R),
    FieldDef("decision_mass", _R),
)
CANDIDATE_FIELDS = _PHOTO + (
    FieldDef("rank", _I), FieldDef("probability", _R), FieldDef("cell_token", _S, 16),
    FieldDef("lat", _R), FieldDef("lon", _R), FieldDef("place", _S),
)
CELL_FIELDS = _PHOTO + (
    FieldDef("level", _I), FieldDef("rank", _I), FieldDef("cell_token", _S, 16),
    FieldDef("probability", _R), FieldDef("train_photos", _I),
)
SURFACE_FIELDS = _PHOTO + (FieldDef("cell_token", _S, 16), FieldDef("probability", _R))
REGION_FIELDS = _PHOTO + (
    FieldDef("mass", _R), FieldDef("covered", _R), FieldDef("n_cells", _I),
    FieldDef("area_km2", _R),
)
FAILURE_FIELDS = _PHOTO + (FieldDef("reason", _S), FieldDef("photo_path_bytes", _S))
RUN_INFO_FIELDS = (FieldDef("key", _S), FieldDef("value", _S))
CONSTRAINT_FIELDS = (FieldDef("kind", _S), FieldDef("mode", _S), FieldDef("label", _S),
                     FieldDef("parameters", _S))


def level_fields(num_levels: int) -> tuple[FieldDef, ...]:
    out: list[FieldDef] = []
    for h in range(num_levels):
        out += [FieldDef(f"cell_{h}", _S, 16), FieldDef(f"cell_{h}_prob", _R)]
    return tuple(out)


def prediction_fields(num_levels: int) -> tuple[FieldDef, ...]:
    """Fields of the predictions layer; cell_<h> columns depend on the model's levels."""
    return PREDICTION_HEAD + level_fields(num_levels) + PREDICTION_TAIL


def layer_defs(num_levels: int) -> tuple[LayerDef, ...]:
    """Every layer of a GeoPackage, in writing order."""
    return (
        LayerDef(PREDICTIONS, "Point", prediction_fields(num_levels),
                 "Predicted location of each photo"),
        LayerDef(CANDIDATES, "Point", CANDIDATE_FIELDS, "Top-k candidate locations"),
        *(LayerDef(cells_layer(h), "MultiPolygon", CELL_FIELDS,
                   f"Top cells of hierarchy level {h} (0 = coarsest)")
          for h in range(num_levels)),
        LayerDef(SURFACE, "MultiPolygon", SURFACE_FIELDS,
                 "Finest cells with their probability (the probability surface)"),
        LayerDef(REGIONS, "MultiPolygon", REGION_FIELDS, "50% and 90% credible regions"),
        LayerDef(CONSTRAINTS, "MultiPolygon", CONSTRAINT_FIELDS,
                 "Constraints the run applied (areas kept or excluded, the sun's band)"),
        LayerDef(FAILURES, None, FAILURE_FIELDS, "Photos that could not be geolocated"),
        LayerDef(RUN_INFO, None, RUN_INFO_FIELDS, "Model, device and timing of the run"),
    )


def num_levels_of(preds: Sequence[Prediction]) -> int:
    """Hierarchy levels seen in the records (for writers that have no CellHierarchy)."""
    return max((len(p.best_cells) for p in preds), default=0)


# ------------------------------------------------------------------------- helpers


def safe_text(text: str) -> str:
    """`text` as valid UTF-8.  A Linux file name that is not UTF-8 reaches Python with
    surrogate escapes, which OGR ("not a string") and a UTF-8 CSV refuse; the bad bytes
    become ``\\xff`` escapes so one odd name cannot fail the whole file."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace")


def path_bytes(path: str) -> str | None:
    """The exact bytes of `path` where ``safe_text`` had to change it, else None.

    A Linux file name is bytes; one that is not UTF-8 reaches Python with surrogate
    escapes (PEP 383) and is stored in ``photo_path`` as readable text with ``\xff``
    escapes, which names no file (and could be a real name with a backslash).  This
    is ``os.fsencode(path)`` percent-encoded (RFC 3986: every byte but ASCII letters,
    digits, ``_.-~`` and ``/`` as ``%XX``), so the text is plain ASCII and
    ``os.fsdecode(urllib.parse.unquote_to_bytes(value))`` gives the very path back
    (``prediction_row.photo_file_path``)."""
    try:
        path.encode("utf-8")
        return None
    except UnicodeEncodeError:
        return quote_from_bytes(os.fsencode(path), safe="/")


def relative_posix(target: str, folder: str) -> str | None:
    """`target` relative to `folder` with "/" separators, or None when there is no
    relative path (another drive on Windows)."""
    try:
        rel = os.path.relpath(target, folder)
    except ValueError:
        return None
    return rel.replace(os.sep, "/")


def _num(x: float | None) -> float | None:
    """Plain float, with NaN/inf as None (NULL) so no writer stores a non-number."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _photo(path: str) -> dict[str, Any]:
    absolute = os.path.abspath(path)
    return {"photo_path": absolute, "file_name": os.path.basename(absolute)}


def _point(lat: float, lon: float) -> Point | None:
    if _num(lat) is None or _num(lon) is None:
        return None
    return Point(float(lon), float(lat))


def photo_regions(preds: Sequence[Prediction],
                  finest: tuple[str, ...]) -> list[tuple[Region, ...]]:
    """The REGION_MASSES regions of every photo; compute once and pass to the row
    functions, since dissolving hundreds of cells per photo is the slow part.
    ``finest``: the model's finest cell tokens (``CellHierarchy.finest_tokens``)."""
    return [credible_regions(p, REGION_MASSES, finest) for p in preds]


# ---------------------------------------------------------------------------- rows


def prediction_rows(preds: Sequence[Prediction], out_path, run: RunInfo,
                    regions: Sequence[tuple[Region, ...]],
                    places: Sequence[Place] | None = None) -> list[Row]:
    """One point per photo.  ``photo_relpath`` is relative to the folder of `out_path`, so
    a file handed on with the photos beside it still finds them."""
    out_dir = os.path.dirname(os.path.abspath(os.fspath(out_path)))
    places = place_names([(p.lat, p.lon) for p in preds]) if places is None else places
    rows = []
    for p, regs, place in zip(preds, regions, places):
        v = _photo(p.path)
        r50, r90 = regs[0], regs[-1]
        v.update(
            photo_relpath=relative_posix(v["photo_path"], out_dir),
            photo_path_bytes=path_bytes(v["photo_path"]),
            sha256=p.sha256, lat=_num(p.lat), lon=_num(p.lon),
            confidence=_num(p.confidence), place=place.label,
            country_code=place.country_code, scene=p.scene_name,
            scene_confidence=_num(p.scene_confidence))
        for cp in p.best_cells:
            v[f"cell_{cp.level}"] = cp.token
            v[f"cell_{cp.level}_prob"] = _num(cp.probability)
        gps = p.exif_gps
        how = p.placement
        model = how.model if how is not None and how.model is not None else p
        error = conflict = None
        if gps is not None:
            error = p.error_km if p.error_km is not None else haversine_km(
                gps.lat, gps.lon, model.lat, model.lon)
            conflict = None if r90.is_empty else int(not contains(r90, gps.lat, gps.lon))
        v.update(
            exif_lat=_num(gps.lat) if gps else None, exif_lon=_num(gps.lon) if gps else None,
            error_km=_num(error), exif_conflict=conflict,
            region50_km2=_num(r50.area_km2), region90_km2=_num(r90.area_km2),
            model_name=run.model_name, model_version=run.model_version,
            weights_sha256=run.weights_sha256, bundle_digest=run.bundle_digest,
            device=run.device,
            run_time=run.started or None)
        before = p.unconstrained_top
        v.update(constraint_mass_removed=_num(p.mass_removed),
                 unconstrained_lat=_num(before.lat) if before else None,
                 unconstrained_lon=_num(before.lon) if before else None,
                 unconstrained_probability=_num(before.probability) if before else None,
                 unconstrained_cell=before.cell_token if before else None)
        v.update(method=p.method, track_source=how.source if how and how.source else None,
                 track_gap_s=_num(how.gap_s) if how else None,
                 radius_m=_num(how.radius_m) if how else None,
                 model_lat=_num(model.lat), model_lon=_num(model.lon),
                 model_distance_km=_num(how.model_distance_km) if how else None,
                 placement_note=how.note if how and how.note else None)
        v.update(_context_values(p))
        rows.append(Row(v, _point(p.lat, p.lon)))
    return rows


NAME_SEPARATOR = "; "  # between the names of region50_countries / region50_continent


def _context_values(p: Prediction) -> dict[str, Any]:
    """The region's places and the decision rule (NULL where a record lacks them: a
    hand-made one, or one from before they were recorded)."""
    places = p.region50_places
    return {
        "region50_countries": None if places is None else
        NAME_SEPARATOR.join(name for name, _share in places.countries),
        "region50_continent": None if places is None else
        NAME_SEPARATOR.join(name for name, _share in places.continents),
        "region50_land": None if places is None else _num(places.land),
        "decision_radius_km": _num(p.decision_radius_km),
        "decision_mass": _num(p.decision_mass)}


def candidate_rows(preds: Sequence[Prediction],
                   places: Sequence[Place] | None = None) -> list[Row]:
    """One point per top-k candidate of each photo (rank 1 = best)."""
    flat = [(p, c) for p in preds for c in p.candidates]
    places = place_names([(c.lat, c.lon) for _, c in flat]) if places is None else places
    rows = []
    for (p, c), place in zip(flat, places):
        v = _photo(p.path)
        v.update(rank=int(c.rank), probability=_num(c.probability), cell_token=c.cell_token,
                 lat=_num(c.lat), lon=_num(c.lon), place=place.label)
        rows.append(Row(v, _point(c.lat, c.lon)))
    return rows


def cell_rows(preds: Sequence[Prediction], cells: CellHierarchy, level: int) -> list[Row]:
    """Per photo the top cells of one level (``p.level_top[level]``) as polygons, with the
    number of training photos of the cell (a cell learnt from 6 photos deserves less
    trust than one learnt from 6000)."""
    counts = {c.token: c.count for c in cells.levels[level].cells}
    rows = []
    for p in preds:
        if level >= len(p.level_top):
            continue
        photo = _photo(p.path)
        for rank, cp in enumerate(p.level_top[level], start=1):
            v = dict(photo)
            v.update(level=int(level), rank=rank, cell_token=cp.token,
                     probability=_num(cp.probability), train_photos=counts.get(cp.token))
            rows.append(Row(v, cell_polygon(cp.token)))
    return rows


def region_rows(preds: Sequence[Prediction],
                regions: Sequence[tuple[Region, ...]]) -> list[Row]:
    """Per photo the 50 % and 90 % credible regions (``photo_regions``; empty regions get
    no geometry)."""
    rows = []
    for p, regs in zip(preds, regions):
        for reg in regs:
            v = _photo(p.path)
            v.update(mass=float(reg.mass), covered=_num(reg.covered), n_cells=reg.n_cells,
                     area_km2=_num(reg.area_km2))
            rows.append(Row(v, None if reg.is_empty else reg.geometry))
    return rows


def failure_rows(failures: Sequence[PhotoFailure]) -> list[Row]:
    rows = []
    for f in failures:
        v = _photo(f.path)
        v["reason"] = f.reason
        v["photo_path_bytes"] = path_bytes(v["photo_path"])
        rows.append(Row(v))
    return rows


def run_info_rows(preds: Sequence[Prediction], failures: Sequence[PhotoFailure],
                  run: RunInfo, bundle_levels: int | None = None,
                  counts: tuple[int, int] | None = None) -> list[Row]:
    """Key/value table describing the run (all values as text); ``counts`` (predicted,
    failed) stands in for the records when they were streamed and are gone."""
    n_pred, n_fail = counts if counts is not None else (len(preds), len(failures))
    n = n_pred + n_fail
    rate = n / run.seconds if run.seconds and run.seconds > 0 else None
    pairs: list[tuple[str, Any]] = [
        ("schema_version", SCHEMA_VERSION), ("model_name", run.model_name),
        ("model_version", run.model_version), ("weights_sha256", run.weights_sha256),
        ("bundle_digest", run.bundle_digest),
        ("bundle_path", run.bundle_path), ("device", run.device),
        ("untrained", int(bool(run.untrained))), ("photos", n),
        ("predicted", n_pred), ("failures", n_fail),
        ("levels", bundle_levels if bundle_levels is not None else num_levels_of(preds)),
        ("started", run.started), ("seconds", f"{run.seconds:.3f}"),
        ("photos_per_s", "" if rate is None else f"{rate:.3f}"),
        *run.extra,
    ]
    lines = run.constraints.describe() if run.constraints else []
    pairs.append(("constraints", len(lines)))
    pairs += [(f"constraint_{i}", line) for i, line in enumerate(lines, start=1)]
    return [Row({"key": str(k), "value": "" if v is None else str(v)}) for k, v in pairs]



def constraint_rows(constraints) -> list[Row]:
    """One feature per constraint of the run (``inference.constraints.Constraints``):
    an area with its polygon, the sun with its band of places; none without any."""
    if not constraints:
        return []
    rows = [Row({"kind": "area", "mode": a.mode, "label": a.label,
                 "parameters": json.dumps(a.parameters(), ensure_ascii=False)}, a.geometry)
            for a in constraints.areas]
    sun = constraints.sun
    if sun is not None:
        rows.append(Row({"kind": "sun", "mode": "include", "label": sun.label,
                         "parameters": json.dumps(sun.parameters(), ensure_ascii=False)},
                        sun.band()))
    return rows
