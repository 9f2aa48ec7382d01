"""Area constraints from what QGIS holds: a polygon layer (or its selected features) and
a rectangle drawn on the map canvas, in any CRS, reprojected to WGS 84 for the engine.

The dock and the Processing algorithm call these and hand the engine's
``AreaConstraint`` on inside a ``Constraints`` object (``GeolocateParams.constraints``);
the engine never sees a QGIS object.  Reading a layer's features is done here, on the
caller's thread, before the background task starts: a task must not touch project
layers.
"""

from __future__ import annotations

from typing import Optional

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCsException,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsWkbTypes,
)

from ..i18n import tr

WGS84 = "EPSG:4326"
RECTANGLE_EDGE_POINTS = 64  # per edge: a projected rectangle's edges curve in lon/lat


def _engine():
    from ...inference.constraints import AreaConstraint, ConstraintError
    from ...inference.constraints.areas import polygonal

    return AreaConstraint, ConstraintError, polygonal


def _to_wgs84(crs: QgsCoordinateReferenceSystem,
              context: Optional[QgsCoordinateTransformContext]) -> Optional[QgsCoordinateTransform]:
    target = QgsCoordinateReferenceSystem(WGS84)
    if not crs.isValid() or crs == target:
        return None
    if context is None:
        context = QgsProject.instance().transformContext()
    return QgsCoordinateTransform(crs, target, context)


def _shapely(geometry: QgsGeometry):
    import shapely

    return shapely.from_wkb(bytes(geometry.asWkb()))


def area_from_layer(layer_or_source, include: bool = True, selected_only: bool = False,
                    label: Optional[str] = None,
                    transform_context: Optional[QgsCoordinateTransformContext] = None):
    """The union of the polygons of a vector layer (or of its selected features, or of a
    Processing feature source, whose "selected features only" Processing already
    applied), as an engine ``AreaConstraint`` in WGS 84; ConstraintError when there is
    no polygon to use."""
    AreaConstraint, ConstraintError, polygonal = _engine()
    from ...inference.constraints.areas import into_lon_range

    name = _name(layer_or_source)
    label = label or tr("layer: {name}").format(name=name)
    if hasattr(layer_or_source, "geometryType") and \
            layer_or_source.geometryType() != QgsWkbTypes.PolygonGeometry:
        raise ConstraintError(tr("{name} is not a polygon layer: an area constraint needs "
                                 "polygons").format(name=name))
    if selected_only and hasattr(layer_or_source, "getSelectedFeatures"):
        if layer_or_source.selectedFeatureCount() == 0:
            raise ConstraintError(tr("{name} has no selected features: select the areas "
                                     "to use, or use the whole layer").format(name=name))
        features = layer_or_source.getSelectedFeatures()
    else:
        features = layer_or_source.getFeatures()
    crs = layer_or_source.crs() if hasattr(layer_or_source, "crs") \
        else layer_or_source.sourceCrs()
    transform = _to_wgs84(crs, transform_context)
    parts, count = [], 0
    for feature in features:
        count += 1
        geometry = QgsGeometry(feature.geometry())
        if geometry.isNull() or geometry.isEmpty() or \
                geometry.type() != QgsWkbTypes.PolygonGeometry:
            continue
        if transform is not None:
            _transform(geometry, transform, name)
        # repaired (a self-intersecting ring made the union throw) and brought back into
        # -180..180 (a Pacific projection crosses the antimeridian)
        parts.append(into_lon_range(_shapely(geometry), unwrap=transform is not None))
    if count == 0:
        raise ConstraintError(tr("{name} is empty: it has no features to make an area "
                                 "from").format(name=name))
    if not parts:
        raise ConstraintError(tr("{name} has no polygons: an area constraint needs "
                                 "polygons").format(name=name))
    from shapely.errors import GEOSException
    from shapely.ops import unary_union

    try:
        geometry = polygonal(unary_union(parts), label)
    except GEOSException as exc:
        raise ConstraintError(tr("{name}: its polygons cannot be combined ({error}); "
                                 "repair the layer's geometries first").format(
            name=name, error=exc)) from None
    details = (("layer", name), ("crs", crs.authid() or crs.description()),
               ("features", str(len(parts))), ("selected_only", str(bool(selected_only))))
    return AreaConstraint(geometry, include, label, "layer", details)


def area_from_rectangle(rect: QgsRectangle, crs: QgsCoordinateReferenceSystem,
                        include: bool = True,
                        transform_context: Optional[QgsCoordinateTransformContext] = None):
    """A rectangle drawn on the map canvas (in the canvas CRS) as an engine
    ``AreaConstraint``; its edges are densified before reprojection, so a rectangle in
    a projected CRS becomes the right curved shape in lon/lat."""
    AreaConstraint, ConstraintError, polygonal = _engine()
    if rect is None or rect.isNull() or rect.width() <= 0 or rect.height() <= 0:
        raise ConstraintError(tr("the rectangle is empty: drag a box on the map"))
    if crs is None or not crs.isValid():
        raise ConstraintError(tr("the rectangle's coordinate system is unknown: draw it "
                                 "again on the map"))
    n = RECTANGLE_EDGE_POINTS
    x0, y0, x1, y1 = rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()
    ring = ([(x0 + (x1 - x0) * i / n, y0) for i in range(n)]
            + [(x1, y0 + (y1 - y0) * i / n) for i in range(n)]
            + [(x1 - (x1 - x0) * i / n, y1) for i in range(n)]
            + [(x0, y1 - (y1 - y0) * i / n) for i in range(n)])
    geometry = QgsGeometry.fromPolygonXY([[QgsPointXY(x, y) for x, y in ring + ring[:1]]])
    transform = _to_wgs84(crs, transform_context)
    if transform is not None:
        _transform(geometry, transform, tr("the rectangle"))
    from ...inference.constraints.areas import into_lon_range

    shape = into_lon_range(_shapely(geometry), unwrap=transform is not None)
    label = tr("rectangle")
    details = (("crs", crs.authid()), ("extent", f"{x0:.6g},{y0:.6g},{x1:.6g},{y1:.6g}"))
    return AreaConstraint(polygonal(shape, label), include, label, "rectangle", details)


def _transform(geometry: QgsGeometry, transform: QgsCoordinateTransform, name: str) -> None:
    _a, ConstraintError, _p = _engine()
    try:
        geometry.transform(transform)
    except QgsCsException as exc:
        raise ConstraintError(tr("{name} cannot be reprojected to WGS 84 ({error})").format(
            name=name, error=str(exc))) from None


def _name(layer_or_source) -> str:
    for attr in ("name", "sourceName"):
        getter = getattr(layer_or_source, attr, None)
        if callable(getter):
            try:
                value = getter()
            except TypeError:
                continue
            if value:
                return str(value)
    return tr("the layer")
