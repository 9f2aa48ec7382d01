"""One-click basemaps under the results: QGIS's offline world map, or OSM on request.

The world map ships with QGIS (``<pkgDataPath>/resources/data/world_map.gpkg``), so the
default basemap needs no network; OpenStreetMap tiles are a web layer added only when
the user picks them.  A run whose project has no other layer gets the world map under
its results (``add_basemap_if_none``): cells and regions over an empty canvas say nothing.
"""

from __future__ import annotations

import os
from typing import Collection, Optional

from qgis.core import QgsApplication, QgsMapLayer, QgsProject, QgsRasterLayer, QgsVectorLayer

from ..i18n import tr

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


def add_basemap_if_none(project: QgsProject, result_layer_ids: Collection[str]
                        ) -> Optional[QgsMapLayer]:
    """Add the offline world map when every layer of `project` is a GeoDecoder result
    (`result_layer_ids`); None when the project has a layer of its own, or when this
    QGIS has no world map."""
    if any(layer_id not in result_layer_ids for layer_id in project.mapLayers()):
        return None
    try:
        return add_basemap(WORLD, project)
    except BasemapError:
        return None
