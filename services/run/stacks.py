"""The photos under a click: every prediction of a stack, not an arbitrary one.

Hundreds of photos predicted at a few cells' points lie exactly on top of each other
(520 photos were 16 dots, issue 20); the predictions style draws them as one marker
with their count (QGIS's point cluster renderer, tools/style_builder.py).  A click on
such a marker must then offer all of them: ``stack_at`` returns every prediction
within a radius of the click on the map as drawn, nearest first, then by file name.
"""

from __future__ import annotations

from qgis.core import (QgsCoordinateTransform, QgsCsException, QgsFeature, QgsFeatureRequest,
                       QgsPointXY, QgsProject, QgsRectangle, QgsVectorLayer)


def stack_at(layer: QgsVectorLayer, point: QgsPointXY, canvas_crs, radius: float,
             project: QgsProject | None = None) -> list[QgsFeature]:
    """The features of `layer` drawn within `radius` (map units of `canvas_crs`) of
    `point` (in `canvas_crs`), nearest first, ties by file name."""
    project = project or QgsProject.instance()
    to_layer = QgsCoordinateTransform(canvas_crs, layer.crs(), project)
    to_canvas = QgsCoordinateTransform(layer.crs(), canvas_crs, project)
    box = QgsRectangle(point.x() - radius, point.y() - radius, point.x() + radius,
                       point.y() + radius)
    try:
        search = to_layer.transformBoundingBox(box)
    except QgsCsException:
        return []
    found = []
    request = QgsFeatureRequest().setFilterRect(search)
    for feature in layer.getFeatures(request):
        if not feature.hasGeometry():
            continue
        try:
            where = to_canvas.transform(feature.geometry().asPoint())
        except QgsCsException:
            continue
        distance = where.distance(point)
        if distance <= radius:
            name = feature.attribute("file_name") if feature.fields().indexOf(
                "file_name") >= 0 else ""
            found.append((distance, str(name or ""), feature))
    found.sort(key=lambda item: (round(item[0], 9), item[1]))
    return [feature for _d, _n, feature in found]


def pick_radius(canvas, layer: QgsVectorLayer, search_radius: float) -> float:
    """How far from a click (canvas map units) a prediction counts as clicked: QGIS's
    identify radius (``search_radius``: ``QgsMapTool.searchRadiusMU(canvas)``, which the
    caller on the widget side computes: services import no ``qgis.gui``), or the cluster
    renderer's tolerance where that is larger, so a click on a counted marker finds every
    photo it stands for."""
    from qgis.core import QgsPointClusterRenderer

    radius = search_radius
    renderer = layer.renderer()
    if isinstance(renderer, QgsPointClusterRenderer):
        context = canvas.mapSettings()
        pixels = renderer.tolerance() * context.outputDpi() / 25.4
        radius = max(radius, pixels * canvas.mapUnitsPerPixel())
    return radius
