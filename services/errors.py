"""How a run ends when it fails: the errors a user can act on, by name, and the rest.

An expected error (no model, a broken bundle, a device that is not there, missing
packages, no photo at all, a GeoPackage that cannot be written) carries a message that
says what to do: it is shown as it is.  Anything else (a torch error such as out of
memory or a shape mismatch, a bug) is shown with its type and logged with its full
traceback in the QGIS log ("GeoDecoder" tab) and Python's logging: one line in the dock
would lose where it came from.
"""

from __future__ import annotations

import logging
import sys
import traceback

from qgis.core import Qgis, QgsMessageLog

from .i18n import tr

log = logging.getLogger(__name__)
LOG_TAG = "GeoDecoder"  # the QGIS log tab


class NoModelError(RuntimeError):
    """No model given and no default model installed; the message says what to do."""


class MissingPackagesError(RuntimeError):
    """The engine's Python packages are not all installed; the message names them."""


class DeviceError(RuntimeError):
    """The device asked for is not there (no CUDA GPU, no Apple MPS); the message says
    which and what to choose instead (the engine's ``resolve_device`` words)."""


# The engine's errors that say what to do, by module: a bundle that cannot be loaded,
# inputs without any photo, a GeoPackage OGR refused to write, a constraint that cannot
# be used (or leaves no place at all).
ENGINE_ERRORS = (("modeling.bundle", "ModelBundleError"), ("run", "NothingToDo"),
                 ("outputs.gpkg", "GeoPackageError"), ("constraints.base", "ConstraintError"))


def expected_errors() -> tuple[type[BaseException], ...]:
    """The errors a run ends with whose message is enough: the plugin's own, the
    engine's ``ENGINE_ERRORS`` and OSError (disk full, no permission, a folder gone).

    Only engine modules already imported are looked at: an error class of a module that
    was never imported cannot have been raised, and telling errors apart must not import
    torch."""
    found: list[type[BaseException]] = [NoModelError, MissingPackagesError, DeviceError,
                                         OSError]
    engine = f"{__package__.rpartition('.')[0]}.inference".lstrip(".")
    for module, name in ENGINE_ERRORS:
        error = getattr(sys.modules.get(f"{engine}.{module}"), name, None)
        if isinstance(error, type) and issubclass(error, BaseException):
            found.append(error)
    return tuple(found)


def error_message(exc: BaseException) -> str:
    """The exception's own words, with its type when it has none (or only a path)."""
    text = str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return text if text else type(exc).__name__


def report_unexpected(exc: BaseException, what: str) -> str:
    """Log `exc` with its traceback (QGIS log and Python logging; call it from the
    ``except`` block) and return the line to show: its type, its words and where the
    traceback is.  Safe from a worker thread (QgsMessageLog is)."""
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    log.error("%s failed unexpectedly:\n%s", what, details)
    QgsMessageLog.logMessage(f"{what} failed unexpectedly:\n{details}", LOG_TAG, Qgis.Critical)
    return tr("{kind}: {message} (unexpected: the full traceback is in the QGIS log, "
              "{tag} tab)").format(kind=type(exc).__name__, message=error_message(exc),
                                   tag=LOG_TAG)
