"""What the dock shows about one clicked result, read from the run's layers.

Reading from the layers (not from in-memory records) means a result can be inspected
the same way in a project reopened later, or in a GeoPackage a colleague sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from qgis.core import (
    QgsExpression,
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsPointXY,
    QgsRectangle,
    QgsVectorLayer,
)

from ...inference.outputs.prediction_row import (CandidateRow, PredictionRow, read_candidate,
                                                read_prediction)
from .layers import RunLayers
from ..scenes import scene_label


@dataclass(frozen=True)
class ResultDetails:
    """The clicked result: its predictions row, read by the one reader of the schema
    (``inference/outputs/prediction_row``), and what the project adds to it."""

    prediction: PredictionRow
    scene: str  # as words where the bundle's names are codes (services/scenes.py)
    extent: Optional[QgsRectangle] = None  # EPSG:4326: the 90% region (its part holding
    # the point when it straddles the antimeridian), else None


def plain_value(value):
    """A QGIS attribute as a plain Python value: QGIS's NULL (a null QVariant) as None."""
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return None
    return value


def feature_values(feature: QgsFeature) -> dict:
    """A feature's attributes by field name, NULL as None (what the reader takes)."""
    return {name: plain_value(feature.attribute(i))
            for i, name in enumerate(feature.fields().names())}


def _value(feature: QgsFeature, name: str, default=None):
    idx = feature.fields().indexOf(name)
    if idx < 0:
        return default
    value = plain_value(feature.attribute(idx))
    return default if value is None else value


def photo_request(path: str) -> QgsFeatureRequest:
    """The features about the photo at `path`.  The expression is QGIS's own
    (``createFieldEqualityExpression`` quotes with ``quotedValue``): QGIS reads a
    backslash in a string literal as an escape, so a path quoted by hand (``'`` doubled)
    matched nothing for ``back\\slash.jpg`` or any Windows path ``C:\\...``."""
    return QgsFeatureRequest().setFilterExpression(
        QgsExpression.createFieldEqualityExpression("photo_path", path))


def first_feature_of_photo(layer: QgsVectorLayer, path: str) -> Optional[QgsFeature]:
    """The first feature of `layer` about the photo at `path` (absolute); None if none."""
    feature = next(layer.getFeatures(photo_request(path)), None)
    return feature if feature is not None and feature.isValid() else None


def _candidates(layer: Optional[QgsVectorLayer], path: str) -> tuple[CandidateRow, ...]:
    if layer is None:
        return ()
    return tuple(read_candidate(feature_values(f)) for f in layer.getFeatures(photo_request(path)))


WORLD_WIDE_DEG = 180.0  # a region wider than this is split (antimeridian) or scattered


def zoom_extent(geometry: QgsGeometry, lon: Optional[float],
                lat: Optional[float]) -> QgsRectangle:
    """Where to zoom for a region: its bounding box, unless that box is wider than half
    the world, as when a region near the antimeridian has parts at -180 and +180 (its
    box then spans the whole world).  Then: the parts on the predicted point's side of
    the antimeridian, or if those still span half the world, the part holding the point
    (or the part nearest to it).  Without a recorded point: the largest part."""
    box = geometry.boundingBox()
    if box.width() <= WORLD_WIDE_DEG or not geometry.isMultipart():
        return box
    parts = [QgsGeometry(part.clone()) for part in geometry.constParts()]
    parts = [p for p in parts if not p.isEmpty()]
    if not parts:
        return box
    if lon is None or lat is None:
        return max(parts, key=lambda p: p.area()).boundingBox()
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


def _region_extent(layer: Optional[QgsVectorLayer], path: str, lon: Optional[float],
                   lat: Optional[float]) -> Optional[QgsRectangle]:
    """The zoom extent of the photo's widest credible region (90 %)."""
    if layer is None:
        return None
    best = None
    for f in layer.getFeatures(photo_request(path)):
        if f.hasGeometry() and (best is None or float(_value(f, "mass", 0)) > best[0]):
            best = (float(_value(f, "mass", 0)), f.geometry())
    return None if best is None else zoom_extent(best[1], lon, lat)


def details_for(feature: QgsFeature, layers: RunLayers) -> ResultDetails:
    """Everything about the photo of a Predictions feature."""
    values = feature_values(feature)
    path = str(values.get("photo_path") or "")
    row = read_prediction(values, _candidates(layers.candidates, path))
    return ResultDetails(
        prediction=row, scene=scene_label(row.scene, layers.scene_names),
        extent=_region_extent(layers.regions, path, row.lon, row.lat))
