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

from ...inference.hashing import sha256_file
from ...inference.outputs import layer_names
from ...inference.outputs.layer_names import CANDIDATES, PREDICTIONS, RUN_INFO
from ...inference.outputs.prediction_row import (CandidateRow, PredictionRow, read_candidate,
                                                read_prediction)
from ..i18n import tr
from ..scenes import SCENE_NAMES_KEY, scene_label

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
class RunFacts:
    gpkg_path: str
    info: tuple[tuple[str, str], ...]  # run_info as recorded, in its order
    photos: tuple[PredictionRow, ...]  # the predictions layer (inference/outputs/prediction_row)
    constraints: tuple[ConstraintFact, ...]
    has_constraints_layer: bool  # False: the run predates constraints (none recorded)

    def value(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.info if k == key), default)

    def scene_of(self, photo: PredictionRow) -> str:
        """The photo's scene as words where the run's scene names are codes."""
        return scene_label(photo.scene or None, _scene_names(dict(self.info)))


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


def _values(feature) -> dict:
    """An OGR feature's fields by name, NULL (and unset) as None."""
    return {feature.GetFieldDefnRef(i).GetName():
            feature.GetField(i) if feature.IsFieldSetAndNotNull(i) else None
            for i in range(feature.GetFieldCount())}


def _candidates(ds) -> dict[str, list[CandidateRow]]:
    layer = ds.GetLayerByName(CANDIDATES)
    found: dict[str, list[CandidateRow]] = {}
    for f in layer or ():
        values = _values(f)
        found.setdefault(str(values.get("photo_path") or ""), []).append(
            read_candidate(values))
    return found


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
        candidates = _candidates(ds)
        photos = []
        for f in ds.GetLayerByName(PREDICTIONS):
            values = _values(f)
            photos.append(read_prediction(values, tuple(
                candidates.get(str(values.get("photo_path") or ""), ()))))
        constraints = ()
        if CONSTRAINTS in names:
            constraints = tuple(
                ConstraintFact(str(_get(f, "kind") or ""), str(_get(f, "mode") or ""),
                               str(_get(f, "label") or ""), str(_get(f, "parameters") or ""))
                for f in ds.GetLayerByName(CONSTRAINTS))
    finally:
        ds = None
    return RunFacts(path, info, tuple(photos), constraints, CONSTRAINTS in names)


def find_photo(photo: PredictionRow, gpkg_path: str) -> Optional[str]:
    """The photo file: at its recorded path (``photo_file``: the exact bytes of a name
    that is not UTF-8), else at the path recorded relative to the GeoPackage (a run
    handed on with its photos beside it); None when neither exists."""
    recorded = photo.photo_file
    if recorded and os.path.isfile(recorded):
        return recorded
    if photo.photo_relpath:
        moved = os.path.normpath(os.path.join(os.path.dirname(gpkg_path), photo.photo_relpath))
        if os.path.isfile(moved):
            return moved
    return None


def custody_of(photo: PredictionRow, gpkg_path: str) -> Custody:
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

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    meta = os.path.join(root, "metadata.txt")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(meta, encoding="utf-8")
        return parser.get("general", "version")
    except (configparser.Error, OSError):
        return tr("unknown")
