"""Constraints that reweight a prediction: where the photo can (or cannot) have been
taken, and how high the sun stood when it was.

Pure Python (shapely, pyproj, GDAL, suncalc): no qgis import, so the command line,
the plugin and Processing share one implementation.  See docs/CONSTRAINTS.md.

The names below are imported when first asked for: every prediction imports
``constraints.base`` (a run without constraints too), and the area readers would bring
shapely and GDAL into its start-up (docs/SPEED.md).
"""

from importlib import import_module

_WHERE = {"area_from_file": "areas", "area_from_wkt": "areas", "countries_area": "areas",
          "country_names": "areas", "AreaConstraint": "base", "ConstraintError": "base",
          "Constraints": "base", "SunConstraint": "base", "parse_utc_time": "base"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
