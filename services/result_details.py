"""What the dock shows about one clicked result, read from the run's layers.

Reading from the layers (not from in-memory records) means a result can be inspected
the same way in a project reopened later, or in a GeoPackage a colleague sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from qgis.core import (
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsPointXY,
    QgsRectangle,
    QgsVectorLayer,
)

from .run_layers import RunLayers
from .scenes import scene_label


@dataclass(frozen=True)
class CandidateRow:
    rank: int
    probability: float
    lat: float
    lon: float
    place: str


@dataclass(frozen=True)
class CellRow:
    level: int
    token: str
    probability: float


@dataclass(frozen=True)
class ResultDetails:
    photo_path: str
    file_name: str
    lat: float
    lon: float
    confidence: float
    place: str
    scene: str  # as words where the bundle's names are codes (services/scenes.py)
    candidates: tuple[CandidateRow, ...]
    cells: tuple[CellRow, ...]  # the best cell per level, coarse to fine
    exif_lat: Optional[float] = None
    exif_lon: Optional[float] = None
    error_km: Optional[float] = None
    exif_conflict: Optional[bool] = None
    region50_km2: Optional[float] = None
    region90_km2: Optional[float] = None
    extent: Optional[QgsRectangle] = None  # EPSG:4326: the 90% region (its part holding
    # the point when it straddles the antimeridian), else None
    mass_removed: Optional[float] = None  # what the run's constraints took away; None: none
    before_lat: Optional[float] = None  # the best cell before the constraints
    before_lon: Optional[float] = None
    before_probability: Optional[float] = None


def _value(feature: QgsFeature, name: str, default=None):
    idx = feature.fields().indexOf(name)
    if idx < 0:
        return default
    value = feature.attribute(idx)
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return default
    return value


def _float(feature: QgsFeature, name: str) -> Optional[float]:
    value = _value(feature, name)
    return None if value is None else float(value)


def _same_photo(path: str) -> QgsFeatureRequest:
    escaped = path.replace("'", "''")
    return QgsFeatureRequest().setFilterExpression(f"\"photo_path\" = '{escaped}'")


def first_feature_of_photo(layer: QgsVectorLayer, path: str) -> Optional[QgsFeature]:
    """The first feature of `layer` about the photo at `path` (absolute); None if none."""
    feature = next(layer.getFeatures(_same_photo(path)), None)
    return feature if feature is not None and feature.isValid() else None


def _candidates(layer: Optional[QgsVectorLayer], path: str) -> tuple[CandidateRow, ...]:
    if layer is None:
        return ()
    rows = [CandidateRow(int(_value(f, "rank", 0)), float(_value(f, "probability", 0.0)),
                         float(_value(f, "lat", 0.0)), float(_value(f, "lon", 0.0)),
                         str(_value(f, "place", "")))
            for f in layer.getFeatures(_same_photo(path))]
    return tuple(sorted(rows, key=lambda r: r.rank))


def _best_cells(feature: QgsFeature) -> tuple[CellRow, ...]:
    cells, level = [], 0
    while feature.fields().indexOf(f"cell_{level}") >= 0:
        token = _value(feature, f"cell_{level}")
        if token:
            cells.append(CellRow(level, str(token), float(_value(feature, f"cell_{level}_prob",
                                                                 0.0))))
        level += 1
    return tuple(cells)


WORLD_WIDE_DEG = 180.0  # a region wider than this is split (antimeridian) or scattered


def zoom_extent(geometry: QgsGeometry, lon: float, lat: float) -> QgsRectangle:
    """Where to zoom for a region: its bounding box, unless that box is wider than half
    the world, as when a region near the antimeridian has parts at -180 and +180 (its
    box then spans the whole world).  Then: the parts on the predicted point's side of
    the antimeridian, or if those still span half the world, the part holding the point
    (or the part nearest to it)."""
    box = geometry.boundingBox()
    if box.width() <= WORLD_WIDE_DEG or not geometry.isMultipart():
        return box
    parts = [QgsGeometry(part.clone()) for part in geometry.constParts()]
    parts = [p for p in parts if not p.isEmpty()]
    if not parts:
        return box
    east = lon >= 0
    same_side = [p.boundingBox() for p in parts if (p.boundingBox().center().x() >= 0) == east]
    if same_side:
        side_box = QgsRectangle(same_side[0])
        for other in same_side[1:]:
            side_box.combineExtentWith(other)
        if side_box.width() <= WORLD_WIDE_DEG:
            return side_box
    point = QgsGeometry.fromPointXY(QgsPointXY(lon, lat))
    holding = [p for p in parts if p.intersects(point)]
    best = holding[0] if holding else min(parts, key=lambda p: p.distance(point))
    return best.boundingBox()


def _region_extent(layer: Optional[QgsVectorLayer], path: str, lon: float,
                   lat: float) -> Optional[QgsRectangle]:
    """The zoom extent of the photo's widest credible region (90 %)."""
    if layer is None:
        return None
    best = None
    for f in layer.getFeatures(_same_photo(path)):
        if f.hasGeometry() and (best is None or float(_value(f, "mass", 0)) > best[0]):
            best = (float(_value(f, "mass", 0)), f.geometry())
    return None if best is None else zoom_extent(best[1], lon, lat)


def details_for(feature: QgsFeature, layers: RunLayers) -> ResultDetails:
    """Everything about the photo of a Predictions feature."""
    path = str(_value(feature, "photo_path", ""))
    conflict = _value(feature, "exif_conflict")
    lat, lon = float(_value(feature, "lat", 0.0)), float(_value(feature, "lon", 0.0))
    return ResultDetails(
        photo_path=path, file_name=str(_value(feature, "file_name", "")),
        lat=lat, lon=lon,
        confidence=float(_value(feature, "confidence", 0.0)),
        place=str(_value(feature, "place", "")),
        scene=scene_label(_value(feature, "scene", ""), layers.scene_names),
        candidates=_candidates(layers.candidates, path), cells=_best_cells(feature),
        exif_lat=_float(feature, "exif_lat"), exif_lon=_float(feature, "exif_lon"),
        error_km=_float(feature, "error_km"),
        exif_conflict=None if conflict is None else bool(conflict),
        region50_km2=_float(feature, "region50_km2"),
        region90_km2=_float(feature, "region90_km2"),
        extent=_region_extent(layers.regions, path, lon, lat),
        mass_removed=_float(feature, "constraint_mass_removed"),
        before_lat=_float(feature, "unconstrained_lat"),
        before_lon=_float(feature, "unconstrained_lon"),
        before_probability=_float(feature, "unconstrained_probability"))
