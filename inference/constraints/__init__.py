"""Constraints that reweight a prediction: where the photo can (or cannot) have been
taken, and how high the sun stood when it was.

Pure Python (shapely, pyproj, GDAL, suncalc): no qgis import, so the command line,
the plugin and Processing share one implementation.  See docs/CONSTRAINTS.md.
"""

from .areas import area_from_file, area_from_wkt, countries_area, country_names
from .base import (AreaConstraint, ConstraintError, Constraints, SunConstraint,
                   parse_utc_time)
from .photo_time import PhotoTime, read_photo_time

__all__ = ["AreaConstraint", "ConstraintError", "Constraints", "SunConstraint",
           "PhotoTime", "area_from_file", "area_from_wkt", "countries_area", "country_names",
           "parse_utc_time", "read_photo_time"]
