"""The one coordinate system every output layer uses."""

from __future__ import annotations

from collections.abc import Callable

from osgeo import osr


def wgs84(fail: Callable[[str], Exception]) -> osr.SpatialReference:
    """EPSG:4326 with x = longitude, y = latitude (GDAL 3 otherwise follows EPSG's
    lat/lon); ``fail(message)`` makes the writer's own error when GDAL cannot build it."""
    srs = osr.SpatialReference()
    if srs.ImportFromEPSG(4326) != 0:
        raise fail("cannot build EPSG:4326 (is GDAL's proj.db missing?)")
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs
