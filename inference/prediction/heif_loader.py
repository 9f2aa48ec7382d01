"""Loading pillow-heif so that its libheif cannot clash with one the host program links.

pillow-heif's wheels carry their own libheif (``pillow_heif.libs/libheif-<hash>.so``, 1.23
in pillow-heif 1.8).  A host executable that links another libheif has that one in the
process's global symbol scope: the QGIS executables (``qgis``, ``qgis_process``) link
GDAL, and Debian's GDAL links the system libheif (1.15 on Debian 12).  The extension
``_pillow_heif`` is then loaded with RTLD_LOCAL, and the dynamic linker resolves each of
its ``heif_*`` calls in the global scope first: the functions the system libheif has go
to it, newer ones (``heif_image_handle_get_preferred_decoding_colorspace``) to the
bundled copy, which reads a handle the other library made, and the host dies (SIGSEGV).
In a plain Python process (the command line, PyQGIS scripts) GDAL's libheif is loaded
RTLD_LOCAL as well, nothing is in the global scope, and pillow-heif is imported as usual.

Where a libheif is in the global scope (Linux), ``load_pillow_heif`` imports the
extension with RTLD_DEEPBIND, so that it and its bundled libraries look up their own
symbols first.  ``sys.setdlopenflags`` is process-wide, so that happens on the main
thread only (another thread importing at that moment would get the flag too).  Where it
cannot be done (a worker thread asked first, or something else loaded pillow-heif
before, without the flag), ``UnsafeHeif`` says why, and HEIC files fail one by one with
that reason instead of taking the program down.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import os
import sys
import threading
from pathlib import Path

EXTENSION = "_pillow_heif"
_MARK = "_loaded_with_own_libheif"  # set on the extension module once deep-bound here


class UnsafeHeif(Exception):
    """pillow-heif cannot be used in this process now; ``str()`` says why.

    ``final`` is False when the main thread may still load it safely later."""

    def __init__(self, reason: str, final: bool):
        super().__init__(reason)
        self.final = final


def host_libheif() -> str | None:
    """Version of a libheif in the process's global symbol scope (one the executable
    links), or None: the only place pillow-heif's own libheif can clash with."""
    if not sys.platform.startswith("linux"):
        return None  # macOS and Windows resolve symbols per library
    try:
        get_version = ctypes.CDLL(None).heif_get_version
    except (OSError, AttributeError):
        return None
    get_version.restype = ctypes.c_char_p
    return (get_version() or b"?").decode("ascii", "replace")


def bundles_own_libheif() -> bool:
    """Whether the installed pillow-heif carries its own libheif (the PyPI wheels do;
    a distribution's package linking the system libheif does not)."""
    spec = importlib.util.find_spec("pillow_heif")
    if spec is None or not spec.origin:
        return False
    origin = Path(spec.origin)
    return any(any((path.parent.parent / "pillow_heif.libs").glob("libheif*"))
               for path in (origin, origin.resolve()))  # as installed, or linked to


def load_pillow_heif() -> None:
    """Import pillow-heif so that decoding with it cannot crash this process.

    Raises ImportError when it is not installed, UnsafeHeif when it cannot be loaded
    safely here (see the module docstring).
    """
    host = host_libheif()
    if host is None or not bundles_own_libheif():
        importlib.import_module("pillow_heif")  # nothing to clash with: as ever
        return
    loaded = sys.modules.get(EXTENSION)
    if loaded is not None:
        if getattr(loaded, _MARK, False):
            importlib.import_module("pillow_heif")
            return
        raise UnsafeHeif(
            f"pillow-heif was loaded before GeoDecoder could keep it apart from the "
            f"libheif {host} this program links; decoding HEIC here would crash the "
            f"program. Restart it (another plugin may load pillow-heif first)", final=True)
    deepbind = getattr(os, "RTLD_DEEPBIND", None)
    if deepbind is None:
        raise UnsafeHeif(f"this program links libheif {host}, which clashes with "
                         "pillow-heif's own", final=True)
    if threading.current_thread() is not threading.main_thread():
        raise UnsafeHeif("pillow-heif must first be loaded on the main thread in a "
                         f"program that links libheif {host}", final=False)
    old = sys.getdlopenflags()
    try:
        sys.setdlopenflags(old | deepbind)
        extension = importlib.import_module(EXTENSION)
        importlib.import_module("pillow_heif")
    finally:
        sys.setdlopenflags(old)
    setattr(extension, _MARK, True)
