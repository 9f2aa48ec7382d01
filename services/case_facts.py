"""What a case report states, read from a run's GeoPackage and checked against the files.

Everything comes from the file itself (predictions, candidates, run_info, the optional
``constraints`` layer), read with OGR, so a report can be written from a GeoPackage a
colleague sent, without a project and off the main thread.  The one thing not taken on
trust is the photo: its SHA-256 is computed again from the file as it is now
(``custody_of``), because a report that only repeats the recorded hash proves nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Optional

from osgeo import ogr

from ..inference.hashing import sha256_file
from ..inference.outputs import layer_names
from ..inference.outputs.layer_names import CANDIDATES, PREDICTIONS, RUN_INFO
from .i18n import tr
from .result_details import CandidateRow
from .scenes import SCENE_NAMES_KEY, scene_label

# the layer the constraints of issue 9 are recorded in (runs written before have none)
CONSTRAINTS = getattr(layer_names, "CONSTRAINTS", "constraints")


class CaseReportError(ValueError):
    """The input cannot be reported on (not a GeoDecoder run, unreadable); the message
    says which file and why."""


@dataclass(frozen=True)
class ConstraintFact:
    kind: str  # "area" | "sun"
    mode: str  # "include" | "exclude"
    label: str
    parameters: str  # JSON text as recorded


@dataclass(frozen=True)
class PhotoFacts:
    """One row of the predictions layer, with the photo's candidates."""

    photo_path: str
    file_name: str
    relpath: str
    sha256: str
    lat: float
    lon: float
    confidence: float
    place: str
    scene: str
    scene_confidence: Optional[float]
    cells: tuple[tuple[int, str, float], ...]  # (level, token, probability), coarse first
    candidates: tuple[CandidateRow, ...]
    exif_lat: Optional[float] = None
    exif_lon: Optional[float] = None
    error_km: Optional[float] = None
    exif_conflict: Optional[bool] = None
    region50_km2: Optional[float] = None
    region90_km2: Optional[float] = None
    mass_removed: Optional[float] = None  # by the constraints; None without constraints
    unconstrained: Optional[tuple[float, float, float, str]] = None  # lat, lon, p, cell


@dataclass(frozen=True)
class RunFacts:
    gpkg_path: str
    info: tuple[tuple[str, str], ...]  # run_info as recorded, in its order
    photos: tuple[PhotoFacts, ...]
    constraints: tuple[ConstraintFact, ...]
    has_constraints_layer: bool  # False: the run predates constraints (none recorded)

    def value(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.info if k == key), default)


@dataclass(frozen=True)
class Custody:
    """The photo file now, against the SHA-256 the run recorded."""

    recorded: str
    path: Optional[str]  # where the file was found (recorded path, else the relative one)
    current: Optional[str]  # its SHA-256 now; None when missing or unreadable
    problem: str = ""  # why there is no current hash

    @property
    def matches(self) -> bool:
        return self.current is not None and self.current == self.recorded

    def verdict(self) -> str:
        if self.current is None:
            return tr("NOT CHECKED: {problem}").format(problem=self.problem)
        if not self.recorded:
            return tr("NOT CHECKED: the run recorded no SHA-256 for this photo")
        if self.matches:
            return tr("MATCHES: the file is the one the run geolocated")
        return tr("DOES NOT MATCH: the file has changed since the run (or is another file)")


def _get(feature, name: str):
    idx = feature.GetFieldIndex(name)
    if idx < 0 or not feature.IsFieldSetAndNotNull(idx):
        return None
    return feature.GetField(idx)


def _float(feature, name: str) -> Optional[float]:
    value = _get(feature, name)
    return None if value is None else float(value)


def _open(path: str):
    if not os.path.isfile(path):
        raise CaseReportError(tr("{path} does not exist.").format(path=path))
    ds = ogr.Open(str(path))
    if ds is None:
        raise CaseReportError(tr("{path} is not a GeoPackage (or cannot be read).").format(
            path=path))
    names = {ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())}
    if not {PREDICTIONS, RUN_INFO} <= names:
        raise CaseReportError(tr("{path} is not a GeoDecoder run: it has no '{p}' and "
                                 "'{r}' layers. Choose the GeoPackage a run wrote.").format(
            path=path, p=PREDICTIONS, r=RUN_INFO))
    return ds, names


def _cells(feature) -> tuple[tuple[int, str, float], ...]:
    out, level = [], 0
    while feature.GetFieldIndex(f"cell_{level}") >= 0:
        token = _get(feature, f"cell_{level}")
        if token:
            out.append((level, str(token), float(_get(feature, f"cell_{level}_prob") or 0.0)))
        level += 1
    return tuple(out)


def _candidates(ds) -> dict[str, list[CandidateRow]]:
    layer = ds.GetLayerByName(CANDIDATES)
    found: dict[str, list[CandidateRow]] = {}
    for f in layer or ():
        found.setdefault(str(_get(f, "photo_path") or ""), []).append(CandidateRow(
            int(_get(f, "rank") or 0), float(_get(f, "probability") or 0.0),
            float(_get(f, "lat") or 0.0), float(_get(f, "lon") or 0.0),
            str(_get(f, "place") or "")))
    return {k: sorted(v, key=lambda c: c.rank) for k, v in found.items()}


def _photo(f, candidates: dict, scene_names) -> PhotoFacts:
    path = str(_get(f, "photo_path") or "")
    conflict = _get(f, "exif_conflict")
    un_lat = _float(f, "unconstrained_lat")
    unconstrained = None if un_lat is None else (
        un_lat, _float(f, "unconstrained_lon") or 0.0,
        _float(f, "unconstrained_probability") or 0.0, str(_get(f, "unconstrained_cell") or ""))
    return PhotoFacts(
        photo_path=path, file_name=str(_get(f, "file_name") or os.path.basename(path)),
        relpath=str(_get(f, "photo_relpath") or ""), sha256=str(_get(f, "sha256") or ""),
        lat=_float(f, "lat") or 0.0, lon=_float(f, "lon") or 0.0,
        confidence=_float(f, "confidence") or 0.0, place=str(_get(f, "place") or ""),
        scene=scene_label(_get(f, "scene"), scene_names),
        scene_confidence=_float(f, "scene_confidence"), cells=_cells(f),
        candidates=tuple(candidates.get(path, ())),
        exif_lat=_float(f, "exif_lat"), exif_lon=_float(f, "exif_lon"),
        error_km=_float(f, "error_km"),
        exif_conflict=None if conflict is None else bool(conflict),
        region50_km2=_float(f, "region50_km2"), region90_km2=_float(f, "region90_km2"),
        mass_removed=_float(f, "constraint_mass_removed"), unconstrained=unconstrained)


def _scene_names(info: dict) -> Optional[list[str]]:
    try:
        names = json.loads(info.get(SCENE_NAMES_KEY) or "null")
    except ValueError:
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


def read_run(path: str) -> RunFacts:
    """The facts of the run GeoPackage `path`; CaseReportError when it is not one."""
    path = os.path.abspath(path)
    ds, names = _open(path)
    try:
        info = tuple((str(_get(f, "key") or ""), str(_get(f, "value") or ""))
                     for f in ds.GetLayerByName(RUN_INFO))
        scene_names = _scene_names(dict(info))
        candidates = _candidates(ds)
        photos = tuple(_photo(f, candidates, scene_names)
                       for f in ds.GetLayerByName(PREDICTIONS))
        constraints = ()
        if CONSTRAINTS in names:
            constraints = tuple(
                ConstraintFact(str(_get(f, "kind") or ""), str(_get(f, "mode") or ""),
                               str(_get(f, "label") or ""), str(_get(f, "parameters") or ""))
                for f in ds.GetLayerByName(CONSTRAINTS))
    finally:
        ds = None
    return RunFacts(path, info, photos, constraints, CONSTRAINTS in names)


def find_photo(photo: PhotoFacts, gpkg_path: str) -> Optional[str]:
    """The photo file: at its recorded path, else at the path recorded relative to the
    GeoPackage (a run handed on with its photos beside it); None when neither exists."""
    if photo.photo_path and os.path.isfile(photo.photo_path):
        return photo.photo_path
    if photo.relpath:
        moved = os.path.normpath(os.path.join(os.path.dirname(gpkg_path), photo.relpath))
        if os.path.isfile(moved):
            return moved
    return None


def custody_of(photo: PhotoFacts, gpkg_path: str) -> Custody:
    """The photo's SHA-256 computed now from the file, against the recorded one."""
    path = find_photo(photo, gpkg_path)
    if path is None:
        return Custody(photo.sha256, None, None,
                       tr("the photo file is missing (not at {path})").format(
                           path=photo.photo_path))
    try:
        return Custody(photo.sha256, path, sha256_file(path))
    except OSError as exc:
        return Custody(photo.sha256, path, None,
                       tr("the photo file cannot be read ({error})").format(error=exc))


def plugin_version() -> str:
    """``version`` of the plugin's metadata.txt."""
    import configparser

    meta = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "metadata.txt")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(meta, encoding="utf-8")
        return parser.get("general", "version")
    except (configparser.Error, OSError):
        return tr("unknown")
