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

``sys.setdlopenflags`` is process-wide: flipping it in a worker thread would hand deep
binding to whatever another thread imports at that moment.  So the plugin calls
``ensure_own_libraries`` on the main thread before it starts any worker (the run
service before ``addTask``, the algorithms in ``prepareAlgorithm``); it is idempotent and
does nothing when called from another thread.  Not at QGIS start-up: importing shapely
there would slow every QGIS launch.

pillow-heif has the same problem with libheif (QGIS links GDAL, which links the system
libheif; pillow-heif's wheel carries a newer one, and a mixed call kills QGIS with
SIGSEGV).  The engine itself loads it apart (``inference/prediction/heif_loader.py``) when it
first registers the HEIC opener on the main thread, so ``ensure_own_libraries`` does
that too: the decode threads then find it loaded.  Thumbnails register it on the main
thread themselves (``image_loading``).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from typing import Iterable

PACKAGES = ("shapely", "pyproj")
log = logging.getLogger(__name__)
_lock = threading.Lock()
_done = False  # every package of PACKAGES imported (deep-bound or already loaded)


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


def ensure_own_libraries(packages: Iterable[str] = PACKAGES) -> bool:
    """``import_with_own_libraries`` once per process, on the main thread only.

    Returns True once every package is imported.  Off the main thread it changes
    nothing and returns whether the main thread already did it.  A package that is not
    installed yet (the install panel adds it later) leaves the guard open, so the next
    call on the main thread tries again.
    """
    global _done
    if threading.current_thread() is threading.main_thread():
        load_heif_decoder()
    if _done:
        return True
    if getattr(os, "RTLD_DEEPBIND", None) is None or not sys.platform.startswith("linux"):
        _done = True  # nothing to do on this platform
        return True
    if threading.current_thread() is not threading.main_thread():
        log.debug("ensure_own_libraries called off the main thread: left to the main thread")
        return False
    packages = tuple(packages)
    with _lock:
        if not _done:
            import_with_own_libraries(packages)
            _done = all(name in sys.modules for name in packages)
    return _done


def load_heif_decoder() -> bool:
    """Have the engine load pillow-heif now, on the main thread, apart from QGIS's own
    libheif; True when HEIC can be decoded.  Cheap after the first call."""
    try:
        from ..inference.prediction.photos import register_heif
    except ImportError:  # Pillow or numpy not installed yet: the install panel says so
        return False
    return register_heif()
