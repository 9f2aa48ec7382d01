"""Import the engine's compiled packages so that they use their own GEOS and PROJ.

PyPI wheels of shapely and pyproj carry their own GEOS/PROJ (``shapely.libs``,
``pyproj.libs``), usually newer than the ones QGIS is linked against.  Inside a QGIS
executable (``qgis``, ``qgis_process``) the system GEOS is already in the global symbol
scope, so a wheel's calls can resolve half to its own GEOS and half to QGIS's:
``shapely.orient_polygons`` (GEOS >= 3.12) then allocates with one library and frees
with the other, and the process dies ("free(): invalid size"; seen with shapely 2.2
wheels and Debian's GEOS 3.11 under qgis_process 3.22).  Loading these extension
modules with ``RTLD_DEEPBIND`` makes them look up symbols in their own libraries first.
Linux only (the flag does not exist elsewhere; Windows and macOS resolve per library).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Iterable

PACKAGES = ("shapely", "pyproj")


def import_with_own_libraries(packages: Iterable[str] = PACKAGES) -> list[str]:
    """Import `packages` (if not imported yet) with deep binding; returns those imported
    this way.  A package that fails to import is left for the engine to report."""
    deepbind = getattr(os, "RTLD_DEEPBIND", None)
    if deepbind is None or not sys.platform.startswith("linux"):
        return []
    done = []
    old_flags = sys.getdlopenflags()
    try:
        sys.setdlopenflags(old_flags | deepbind)
        for name in packages:
            if name in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except ImportError:
                continue
            done.append(name)
    finally:
        sys.setdlopenflags(old_flags)
    return done
