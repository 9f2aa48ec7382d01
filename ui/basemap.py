"""One-click basemaps under the results: QGIS's offline world map, or OSM on request.

The world map ships with QGIS (``<pkgDataPath>/resources/data/world_map.gpkg``), so the
default basemap needs no network; OpenStreetMap tiles are a web layer added only when
the user picks them.
"""

from __future__ import annotations

import os
from typing import Optional

from qgis.core import QgsApplication, QgsMapLayer, QgsProject, QgsRasterLayer, QgsVectorLayer

from .i18n import tr

WORLD, OSM = "world", "osm"
OSM_URI = ("type=xyz&url=https://tile.openstreetmap.org/{z}/{x}/{y}.png"
           "&zmin=0&zmax=19")


class BasemapError(RuntimeError):
    """The basemap cannot be added (world map file missing in this QGIS install)."""


def world_map_path() -> str:
    return os.path.join(QgsApplication.pkgDataPath(), "resources", "data", "world_map.gpkg")


def make_basemap(kind: str = WORLD) -> QgsMapLayer:
    if kind == OSM:
        layer = QgsRasterLayer(OSM_URI, tr("OpenStreetMap"), "wms")
    else:
        path = world_map_path()
        if not os.path.isfile(path):
            raise BasemapError(tr("QGIS's offline world map is not installed ({path})")
                               .format(path=path))
        layer = QgsVectorLayer(f"{path}|layername=countries", tr("World map (offline)"), "ogr")
    if not layer.isValid():
        raise BasemapError(tr("The basemap layer could not be opened"))
    return layer


def add_basemap(kind: str = WORLD, project: Optional[QgsProject] = None) -> QgsMapLayer:
    """Add the basemap at the bottom of the layer tree (under every result group); a
    basemap that is already there is returned instead of added twice."""
    project = project or QgsProject.instance()
    layer = make_basemap(kind)
    for existing in project.mapLayers().values():
        if existing.source() == layer.source():
            return existing
    project.addMapLayer(layer, False)
    project.layerTreeRoot().addLayer(layer)
    return layer
